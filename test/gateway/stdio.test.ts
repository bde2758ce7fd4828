import test from 'ava';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { toolText } from '../helpers/mcp.ts';
import { everythingOverStdio, signedInClient, upstreamsFile } from './upstreams.ts';

let gh: RunningGatehouse;
test.before(async () => {
  gh = await startGatehouse({ env: { UPSTREAMS: upstreamsFile({ everything: everythingOverStdio() }) } });
});
test.after.always(async () => gh?.close());

for (const generation of ['v1', 'v2'] as const) {
  test(`${generation}: server-everything over stdio through the full OAuth flow`, async (t) => {
    const { client, provider } = await signedInClient(generation, `${gh.resource}/everything`, ALICE);
    t.teardown(() => client.close());
    t.truthy(provider.accessToken);

    const { tools } = await client.listTools();
    t.true(tools.some((tool) => tool.name === 'echo'), tools.map((tool) => tool.name).join());
    t.is(toolText(await client.callTool({ name: 'echo', arguments: { message: 'hello upstream' } })), 'Echo: hello upstream');
  });
}
