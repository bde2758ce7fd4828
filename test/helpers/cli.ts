import { spawn } from 'node:child_process';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the command line exactly as an operator does (`node --import tsx
 * src/main.ts …`), against the given database, and never throws: the test
 * asserts on the exit code and what was printed.
 */
export function gatehouseCli(databaseUrl: string, args: string[], options: { env?: Record<string, string>; stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
      env: { ...process.env, LOG_LEVEL: 'warn', ...options.env, DATABASE_URL: databaseUrl },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.once('error', reject);
    // 'close', not 'exit': a process can exit before its output has been read, and on a loaded
    // machine the credentials a command printed were sometimes missing from `stdout`.
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** One line for an assertion message: the exit code and what the command said (its first complaint, else its last line). */
export function describeRun(result: CliResult): string {
  const lines = (text: string) => text.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('oidc-provider WARNING'));
  const said = lines(result.stderr)[0] ?? lines(result.stdout).at(-1);
  return `exit ${result.code}: ${said ?? '(nothing printed)'}`;
}
