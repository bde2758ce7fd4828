/**
 * The entry point: settles how the process runs before anything else is
 * loaded (restarting in place is cheap only then; see ops/async-context.ts),
 * then hands over to the command line.
 */
import { serveWithAsyncContextFrames } from './ops/async-context.ts';

const args = process.argv.slice(2);
if (args.length === 0 || (args.length === 1 && args[0] === 'serve')) serveWithAsyncContextFrames();
await import('./cli/main.ts');
