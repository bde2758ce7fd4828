import test from 'ava';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { toolText } from '../helpers/mcp.ts';
import { everythingOverStdio, signedInClient, startEverythingHttp, upstreamsFile, type RunningUpstream } from './upstreams.ts';

// The official server-everything twice behind one Gatehouse: as a child process over stdio, and as
// its own HTTP server (Streamable HTTP) that the test starts on a loopback port.
let gh: RunningGatehouse;
let http: RunningUpstream;
let sse: RunningUpstream;
test.before(async () => {
  [http, sse] = await Promise.all([startEverythingHttp(), startEverythingHttp('sse')]);
  gh = await startGatehouse({
    env: { UPSTREAMS: upstreamsFile({ everything: everythingOverStdio(), 'everything-http': { url: http.url }, 'everything-sse': { url: sse.url } }) },
  });
});
test.after.always(async () => {
  await gh?.close();
  await Promise.all([http?.stop(), sse?.stop()]);
});

/** What a test does with either SDK generation: the same calls, spelled the way each SDK spells them. */
interface Calls {
  callTool(name: string, args: Record<string, unknown>, onprogress?: (progress: { progress: number }) => void): Promise<unknown>;
  onResourceListChanged(handler: () => void): void;
}

function callsOf(generation: 'v1' | 'v2', client: any): Calls {
  if (generation === 'v1') {
    return {
      callTool: (name, args, onprogress) => client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress } : undefined),
      onResourceListChanged: (handler) => client.setNotificationHandler(ResourceListChangedNotificationSchema, handler),
    };
  }
  return {
    callTool: (name, args, onprogress) => client.callTool({ name, arguments: args }, onprogress ? { onprogress } : undefined),
    onResourceListChanged: (handler) => client.setNotificationHandler('notifications/resources/list_changed', handler),
  };
}

const CASES = [
  { generation: 'v1', upstream: 'everything', transport: 'stdio' },
  { generation: 'v2', upstream: 'everything', transport: 'stdio' },
  { generation: 'v1', upstream: 'everything-http', transport: 'Streamable HTTP' },
  { generation: 'v2', upstream: 'everything-http', transport: 'Streamable HTTP' },
  // No "transport" in its entry: its POST is refused, and the gateway falls back to the old HTTP+SSE transport.
  { generation: 'v2', upstream: 'everything-sse', transport: 'the old HTTP+SSE transport' },
] as const;

for (const { generation, upstream, transport } of CASES) {
  test(`${generation}: server-everything over ${transport} through the full OAuth flow: tools, resources, prompts, completions, progress, list_changed`, async (t) => {
    const { client, provider } = await signedInClient(generation, `${gh.resource}/${upstream}`, ALICE);
    t.teardown(() => client.close());
    t.truthy(provider.accessToken);
    const calls = callsOf(generation, client);

    const { tools } = await client.listTools();
    t.true(tools.some((tool: { name: string }) => tool.name === 'echo'), tools.map((tool: { name: string }) => tool.name).join());
    t.is(toolText(await calls.callTool('echo', { message: 'hello upstream' })), 'Echo: hello upstream');

    const { resources } = await client.listResources();
    t.true(resources.length > 0);
    const first = resources[0]!;
    const read = await client.readResource({ uri: first.uri });
    t.is(read.contents[0]!.uri, first.uri);

    const { prompts } = await client.listPrompts();
    t.true(prompts.some((prompt: { name: string }) => prompt.name === 'simple-prompt'));
    const prompt = await client.getPrompt({ name: 'simple-prompt' });
    t.true(prompt.messages.length > 0);
    const completion = await client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } });
    t.true(completion.completion.values.includes('Engineering'), JSON.stringify(completion));

    const progress: number[] = [];
    const done = await calls.callTool('trigger-long-running-operation', { duration: 0.3, steps: 3 }, (update) => progress.push(update.progress));
    t.regex(toolText(done), /completed/i);
    t.deepEqual(progress, [1, 2, 3], 'every progress notification the upstream sent reached the client, under its own token');

    const changed = new Promise<void>((resolve) => calls.onResourceListChanged(resolve));
    await calls.callTool('gzip-file-as-resource', { name: 'hello.txt.gz', data: 'data:text/plain;base64,aGVsbG8gd29ybGQ=', outputType: 'resourceLink' });
    await changed;
    t.pass('notifications/resources/list_changed reached the client');
  });
}

test('server-to-client requests from the upstream (sampling, elicitation, roots) reach the client on a legacy session', async (t) => {
  const { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
  const { ClientV1 } = await import('../helpers/mcp.ts');
  const signedIn = await signedInClient('v1', `${gh.resource}/everything`, ALICE, {
    capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } },
  });
  const client = signedIn.client as InstanceType<typeof ClientV1>;
  t.teardown(() => client.close());
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    content: { type: 'text', text: `sampled: ${(request.params.messages[0]!.content as { text: string }).text}` },
    model: 'test-model',
    stopReason: 'endTurn',
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
  client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///work/project', name: 'project' }] }));

  const tools = (await client.listTools()).tools.map((tool) => tool.name);
  t.true(tools.includes('trigger-sampling-request'), 'the upstream saw the client\'s capabilities');
  const sampled = toolText(await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 20 } }));
  t.regex(sampled, /sampled: .*hi/);
  const elicited = JSON.stringify(await client.callTool({ name: 'trigger-elicitation-request', arguments: {} }));
  t.regex(elicited, /declined/);
  const roots = JSON.stringify(await client.callTool({ name: 'get-roots-list', arguments: {} }));
  t.regex(roots, /file:\/\/\/work\/project/);
});
