/**
 * The official MCP conformance suite against a real Gatehouse: the server
 * scenarios of both requirement sets through /mcp, and the authorization
 * scenarios against the issuer. Each run is judged against its baseline in
 * test/interop/conformance/baseline/ (see run.ts); the full output of the
 * suite lands in test-output/conformance/.
 */
import test from 'ava';
import { describe, REQUIREMENT_SETS, runAuthorizationScenarios, runServerScenarios, type Verdict } from './conformance/run.ts';
import { ensureSuite, type Suite } from './conformance/suite.ts';

let suite: Suite;
test.before(async (t) => {
  suite = await ensureSuite((line) => t.log(line));
});

function report(t: { log(...values: unknown[]): void; true(value: boolean, message?: string): void }, verdict: Verdict): void {
  t.log(describe(verdict));
  t.true(verdict.ok, `${describe(verdict)}\n\n${verdict.output.slice(-6000)}`);
}

// The three runs share nothing (each starts its own Gatehouse, proxy and output folder), so they run at once.
for (const requirements of REQUIREMENT_SETS) {
  test(`conformance suite, server scenarios of the ${requirements} requirement set, against /mcp`, async (t) => {
    report(t, await runServerScenarios(suite, requirements));
  });
}

test('conformance suite, authorization scenarios, against the issuer (no scope sent, iss on the redirect, no-store tokens)', async (t) => {
  report(t, await runAuthorizationScenarios(suite));
});
