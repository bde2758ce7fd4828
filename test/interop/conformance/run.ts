/**
 * Runs the official conformance suite against a real Gatehouse and judges
 * the result against a baseline: the `server` scenarios of a requirement set
 * (2025-11-25, 2026-07-28) against /mcp, and the `authorization` scenarios
 * against the issuer.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tokensFor } from '../../helpers/mcp.ts';
import { ALICE, freePort, startGatehouse, type RunningGatehouse } from '../../helpers/server.ts';
import { UserAgent } from '../../helpers/user-agent.ts';
import { startBearerProxy } from './bearer-proxy.ts';
import { ensureSuite, runSuite, type Suite } from './suite.ts';

export const REQUIREMENT_SETS = ['2025-11-25', '2026-07-28'] as const;
export type RunName = (typeof REQUIREMENT_SETS)[number] | 'authorization';

const OUTPUT_DIR = resolve('test-output/conformance');
const BASELINE_DIR = resolve('test/interop/conformance/baseline');
const FIXTURES = 'test/fixtures/conformance-tools.ts';

export interface ScenarioOutcome {
  name: string;
  passed: boolean;
  /** "N passed, M failed" as the suite counted its checks. */
  checks: string;
  /** Why the suite runs it without counting it (`extension`, `pending`, …), when it does. */
  notScored?: string;
}

export interface Verdict {
  run: RunName;
  outcomes: ScenarioOutcome[];
  /** Scored scenarios that passed, of how many. */
  passed: number;
  total: number;
  /** Scenarios (scored or not) that failed without a baseline entry. */
  unexpected: string[];
  /** Baseline entries whose scenario passes now (or is no longer run). */
  stale: string[];
  ok: boolean;
  output: string;
}

/** The scenarios a run may fail, each with the reason, from `baseline/<run>.json`. */
export function loadBaseline(run: RunName): Record<string, string> {
  const file = JSON.parse(readFileSync(join(BASELINE_DIR, `${run}.json`), 'utf8')) as { expectedFailures?: Record<string, string> };
  return file.expectedFailures ?? {};
}

/** Reads the suite's closing summary: one line per scenario, then the ones it ran without scoring. */
export function parseSummary(output: string): ScenarioOutcome[] {
  const summary = output.slice(output.lastIndexOf('=== SUMMARY ==='));
  const outcomes = new Map<string, ScenarioOutcome>();
  for (const match of summary.matchAll(/^([✓✗]) (\S+): (\d+ passed, \d+ failed)$/gmu)) {
    outcomes.set(match[2]!, { name: match[2]!, passed: match[1] === '✓', checks: match[3]! });
  }
  const notScored = summary.slice(summary.indexOf('Not scored'));
  if (notScored.startsWith('Not scored')) {
    for (const match of notScored.matchAll(/^\s+[✓✗] (\S+) \(([^)]+)\)$/gmu)) {
      const outcome = outcomes.get(match[1]!);
      if (outcome) outcome.notScored = match[2]!;
    }
  }
  return [...outcomes.values()];
}

/**
 * Any scenario may fail only with a baseline entry, and a baseline entry
 * must still fail. Scenarios the suite runs without scoring (extension,
 * pending) are judged like scored ones: clients and servers already ship
 * them.
 */
export function judge(run: RunName, output: string, baseline: Record<string, string>): Verdict {
  const outcomes = parseSummary(output);
  const scored = outcomes.filter((outcome) => !outcome.notScored);
  const failing = new Set(outcomes.filter((outcome) => !outcome.passed).map((outcome) => outcome.name));
  const unexpected = [...failing].filter((name) => !(name in baseline));
  const stale = Object.keys(baseline).filter((name) => !failing.has(name));
  const passed = scored.filter((outcome) => outcome.passed).length;
  return {
    run,
    outcomes,
    passed,
    total: scored.length,
    unexpected,
    stale,
    ok: scored.length > 0 && unexpected.length === 0 && stale.length === 0,
    output,
  };
}

async function startTarget(): Promise<RunningGatehouse> {
  // The suite's fixtures come in the way an operator's tools do; the token
  // outlives any run of the suite.
  return startGatehouse({ env: { TOOLS_MODULES: FIXTURES, ACCESS_TOKEN_TTL: '2h', LOG_LEVEL: 'warn' } });
}

/**
 * The `server` scenarios of one requirement set against Gatehouse's /mcp,
 * through a loopback proxy that adds a real access token from the OAuth flow
 * (the suite's server runner sends none).
 */
export async function runServerScenarios(suite: Suite, requirements: (typeof REQUIREMENT_SETS)[number], onLine?: (line: string) => void): Promise<Verdict> {
  const gh = await startTarget();
  try {
    const { accessToken } = await tokensFor(gh, ALICE, { clientName: 'MCP conformance suite' });
    const proxy = await startBearerProxy(gh.url, accessToken);
    try {
      const out = join(OUTPUT_DIR, requirements);
      rmSync(out, { recursive: true, force: true });
      const { output } = await runSuite(suite, ['server', '--url', `${proxy.url}/mcp`, '--requirements', requirements, '-o', out], onLine);
      return judge(requirements, output, loadBaseline(requirements));
    } finally {
      await proxy.close();
    }
  } finally {
    await gh.close();
  }
}

/** Waits for the suite's callback listener: it may start just after it prints the URL. */
async function deliver(callback: URL): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await (await fetch(callback)).arrayBuffer();
      return;
    } catch (error) {
      if (attempt >= 50) throw error;
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
  }
}

/**
 * The `authorization` scenarios against Gatehouse's issuer, for a public
 * client registered with the suite's loopback callback. The suite prints an
 * authorization URL for a person; a UserAgent signs in and consents, and the
 * redirect (code, state, iss) goes to the suite's callback.
 */
export async function runAuthorizationScenarios(suite: Suite, onLine?: (line: string) => void): Promise<Verdict> {
  const gh = await startTarget();
  try {
    const port = await freePort();
    const registration = await fetch(`${gh.issuer}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'MCP conformance suite',
        redirect_uris: [`http://127.0.0.1:${port}/callback`],
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }),
    });
    if (registration.status !== 201) throw new Error(`registering the suite's client failed: ${registration.status} ${await registration.text()}`);
    const { client_id: clientId } = (await registration.json()) as { client_id: string };

    const out = join(OUTPUT_DIR, 'authorization');
    rmSync(out, { recursive: true, force: true });
    // A sign-in that fails stops the suite rather than leaving it waiting five minutes for its callback.
    const stop = new AbortController();
    let signInFailure: unknown;
    const { output } = await runSuite(
      suite,
      ['authorization', '--url', gh.issuer, '--client-id', clientId, '--resource', gh.resource, '-p', String(port), '-o', out],
      (line) => {
        onLine?.(line);
        const url = /^(https?:\/\/\S+\/authorize\?\S+)$/.exec(line.trim())?.[1];
        if (!url) return;
        new UserAgent()
          .authorize(url, ALICE)
          .then(deliver)
          .catch((error: unknown) => {
            signInFailure = error;
            stop.abort();
          });
      },
      stop.signal,
    ).catch((error: unknown) => {
      if (signInFailure) throw new Error(`signing in for the authorization scenarios failed: ${String(signInFailure)}`);
      throw error;
    });
    return judge('authorization', output, loadBaseline('authorization'));
  } finally {
    await gh.close();
  }
}

export async function runAll(names: readonly RunName[], log: (line: string) => void): Promise<Verdict[]> {
  const suite = await ensureSuite(log);
  const verdicts: Verdict[] = [];
  for (const name of names) {
    verdicts.push(name === 'authorization' ? await runAuthorizationScenarios(suite) : await runServerScenarios(suite, name));
  }
  return verdicts;
}

/** A verdict in a few lines: the score, then anything that needs a person's attention. */
export function describe(verdict: Verdict): string {
  const lines = [`${verdict.run}: ${verdict.passed} / ${verdict.total} scored scenarios pass`];
  for (const name of verdict.unexpected) lines.push(`  FAILS (not in the baseline): ${name}`);
  for (const name of verdict.stale) lines.push(`  passes now, remove it from baseline/${verdict.run}.json: ${name}`);
  const unscored = verdict.outcomes.filter((outcome) => outcome.notScored);
  if (unscored.length > 0) {
    lines.push(`  not scored: ${unscored.map((outcome) => `${outcome.name} (${outcome.notScored}, ${outcome.passed ? 'passes' : 'fails'})`).join(', ')}`);
  }
  return lines.join('\n');
}
