/**
 * Runs the official MCP conformance suite against a fresh Gatehouse and
 * prints the scores: `npm run conformance` (everything), or name runs:
 * `npm run conformance -- 2026-07-28 authorization`. The suite is a
 * devDependency, run on the same Node as Gatehouse.
 */
import { describe, REQUIREMENT_SETS, runAll, type RunName } from '../test/interop/conformance/run.ts';

const known: RunName[] = [...REQUIREMENT_SETS, 'authorization'];
const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !known.includes(name as RunName));
if (unknown.length > 0) {
  console.error(`unknown run ${unknown.join(', ')}: choose from ${known.join(', ')}`);
  process.exit(2);
}
const verdicts = await runAll(asked.length > 0 ? (asked as RunName[]) : known, (line) => console.log(line));
for (const verdict of verdicts) console.log(describe(verdict));
console.log('full output of the suite: test-output/conformance/');
process.exit(verdicts.every((verdict) => verdict.ok) ? 0 : 1);
