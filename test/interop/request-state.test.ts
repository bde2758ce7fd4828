/**
 * A tool module's verifyRequestState guards the 2026-07-28 multi-round-trip
 * state a client echoes back (the conformance fixture seals its state with
 * the SDK's HMAC codec and verifies it there).
 */
import test from 'ava';
import { mcpPost, tokensFor } from '../helpers/mcp.ts';
import { ALICE, startGatehouse, type RunningGatehouse } from '../helpers/server.ts';
import { modernRequest } from './client-replay.ts';

let gh: RunningGatehouse;
let auth: Record<string, string>;
test.before(async () => {
  gh = await startGatehouse({ env: { TOOLS_MODULES: 'test/fixtures/conformance-tools.ts' } });
  auth = { authorization: `Bearer ${(await tokensFor(gh, ALICE)).accessToken}` };
});
test.after.always(async () => gh?.close());

async function call(id: number, extra: Record<string, unknown> = {}) {
  const request = modernRequest(id, 'tools/call', { name: 'test_input_required_result_tampered_state', arguments: {}, ...extra }, 'state-test', { capabilities: { elicitation: { form: {} } } });
  const answer = await mcpPost(gh.resource, request.body, { ...auth, ...request.headers });
  if (!answer.messages[0]) throw new Error(`${answer.status} ${answer.text}`);
  return answer.messages[0];
}

test('the state a tool sealed comes back verified; a forged one is refused with -32602 before the tool runs', async (t) => {
  const first = await call(1);
  t.is(first.result?.resultType, 'input_required', JSON.stringify(first));
  const state: string = first.result.requestState;
  const confirmed = { inputResponses: { confirm: { action: 'accept', content: { ok: true } } } };

  const honest = await call(2, { ...confirmed, requestState: state });
  t.is(honest.result?.content?.[0]?.text, 'integrity-ok: requestState verified', JSON.stringify(honest));

  const forged = `${state.slice(0, -2)}${state.endsWith('A') ? 'B' : 'A'}A`;
  const refused = await call(3, { ...confirmed, requestState: forged });
  t.is(refused.error?.code, -32602, JSON.stringify(refused));
  t.is(refused.error?.message, 'Invalid or expired requestState');
});
