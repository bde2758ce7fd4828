import test from 'ava';
import { ConfigError } from '../../src/config/config.ts';
import { loadUpstreamsFile } from '../../src/gateway/definition.ts';
import { gatehouseCli } from '../helpers/cli.ts';
import { testDatabaseUrl } from '../helpers/server.ts';
import { everythingOverStdio, upstreamsFile } from './upstreams.ts';

const refusal = (upstreams: Record<string, unknown>) => {
  try {
    loadUpstreamsFile(upstreamsFile(upstreams));
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('accepted');
};

test('a bad UPSTREAMS entry is refused with a message naming the entry and the field', (t) => {
  t.regex(refusal({ notes: { command: 'npx', args: 'not-a-list' } }), /upstream "notes": field "args": /);
  t.regex(refusal({ wiki: { url: 'ftp://wiki.example/mcp' } }), /upstream "wiki": field "url": must be an http/);
  t.regex(refusal({ graph: { command: 'npx', timout: 5 } }), /upstream "graph": .*timout/);
  t.regex(refusal({ sales: { url: 'https://sales.example/mcp', scopes: ['admin:everything'] } }), /upstream "sales": field "scopes.0"/);
  t.regex(refusal({ both: { command: 'npx', url: 'https://x.example/mcp' } }), /upstream "both": needs exactly one of "command" .* or "url"/);
  t.regex(refusal({ 'Not A Name': everythingOverStdio() }), /upstream "Not A Name": the name must be/);
});

test('a file that is not JSON, or not an object of upstreams, is refused', (t) => {
  t.throws(() => loadUpstreamsFile('/nonexistent/upstreams.json'), { instanceOf: ConfigError, message: /UPSTREAMS: cannot read/ });
  t.regex(refusal([] as never), /must hold an object of upstreams by name/);
});

test('a valid file gives each entry its defaults, mcp:tools always among its scopes', (t) => {
  const [entry] = loadUpstreamsFile(upstreamsFile({ notes: { command: 'npx', args: ['-y', 'notes-mcp'], scopes: ['mcp:write'] } }));
  t.is(entry!.name, 'notes');
  t.deepEqual(entry!.settings.scopes, ['mcp:tools', 'mcp:write']);
  t.is(entry!.settings.timeoutMs, 60_000);
  t.deepEqual(entry!.settings.deny, []);
});

test('Gatehouse does not start with a bad UPSTREAMS file, and says why', async (t) => {
  const result = await gatehouseCli(testDatabaseUrl(), ['serve'], { env: { UPSTREAMS: upstreamsFile({ notes: { command: '' } }), PORT: '0' } });
  t.is(result.code, 1);
  t.regex(result.stderr, /UPSTREAMS \(.*\): upstream "notes": field "command"/);
});
