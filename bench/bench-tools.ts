// The tool every throughput row calls, in Gatehouse and in the bare SDK baseline alike.
import { z } from 'zod';
import { defineTool, type ToolModule } from '../src/mcp/tools/registry.ts';

export default {
  tools: [
    defineTool({
      name: 'echo',
      description: 'Returns its input.',
      inputSchema: z.object({ text: z.string() }),
      run: ({ text }) => ({ content: [{ type: 'text', text }] }),
    }),
  ],
} satisfies ToolModule;
