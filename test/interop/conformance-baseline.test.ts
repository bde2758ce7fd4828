/**
 * How a conformance run is judged against its baseline, on the summary the
 * suite prints (the real runs are in conformance.test.ts).
 */
import test from 'ava';
import { judge, parseSummary } from './conformance/run.ts';

const SUMMARY = `
=== SUMMARY ===
✓ server-initialize: 3 passed, 0 failed
✗ tools-call-error: 1 passed, 1 failed
✓ ping: 2 passed, 0 failed
✗ json-schema-2020-12: 1 passed, 1 failed

Total: 7 passed, 2 failed

Not scored for 2025-11-25: 1 scenario(s) run, 1 failing. These do not affect conformance.
  ✗ json-schema-2020-12 (pending)
`;

test('the summary gives each scenario, its checks, and whether it is scored', (t) => {
  t.deepEqual(parseSummary(SUMMARY), [
    { name: 'server-initialize', passed: true, checks: '3 passed, 0 failed' },
    { name: 'tools-call-error', passed: false, checks: '1 passed, 1 failed' },
    { name: 'ping', passed: true, checks: '2 passed, 0 failed' },
    { name: 'json-schema-2020-12', passed: false, checks: '1 passed, 1 failed', notScored: 'pending' },
  ]);
});

test('a failure without a baseline entry fails the run, scored or not', (t) => {
  const verdict = judge('2025-11-25', SUMMARY, {});
  t.false(verdict.ok);
  t.deepEqual(verdict.unexpected, ['tools-call-error', 'json-schema-2020-12']);
  t.is(verdict.passed, 2);
  t.is(verdict.total, 3);
});

test('a failure with its baseline entry passes the run', (t) => {
  t.true(judge('2025-11-25', SUMMARY, { 'tools-call-error': 'a known gap', 'json-schema-2020-12': 'pending gap' }).ok);
});

test('a baseline entry for a scenario that passes now fails the run as stale', (t) => {
  const verdict = judge('2025-11-25', SUMMARY, { 'tools-call-error': 'a known gap', 'json-schema-2020-12': 'pending gap', ping: 'fixed since' });
  t.false(verdict.ok);
  t.deepEqual(verdict.stale, ['ping']);
});

test('output without a summary (the suite crashed) is never a pass', (t) => {
  t.false(judge('authorization', 'Error: something broke', {}).ok);
});
