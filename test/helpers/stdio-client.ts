import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

interface Pending {
  resolve(message: any): void;
  reject(error: Error): void;
}

/**
 * The host side of an MCP stdio connection to a child process (what Claude
 * Desktop does with a `command` server): newline-delimited JSON-RPC on the
 * child's stdin and stdout. Its stderr is kept for failure messages.
 */
export class StdioClient {
  readonly stderr: string[] = [];
  /** Everything the child wrote to stdout that was not an answer to one of our requests. */
  readonly other: any[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => this.receive(line));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    void this.exited.then((code) => {
      for (const waiter of this.pending.values()) waiter.reject(new Error(`the child exited (${code}) before answering:\n${this.log}`));
      this.pending.clear();
    });
  }

  static start(command: string, args: string[], env: NodeJS.ProcessEnv): StdioClient {
    return new StdioClient(spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  get log(): string {
    return this.stderr.join('');
  }

  private receive(line: string): void {
    let message: any;
    try {
      message = JSON.parse(line);
    } catch {
      this.stderr.push(`(stdout, not JSON) ${line}\n`);
      return;
    }
    const waiter = typeof message.id === 'number' && !('method' in message) ? this.pending.get(message.id) : undefined;
    if (!waiter) {
      this.other.push(message);
      return;
    }
    this.pending.delete(message.id);
    waiter.resolve(message);
  }

  /** Sends a request and resolves with the whole JSON-RPC answer (result or error). */
  request(method: string, params?: unknown, patienceMs = 90_000): Promise<any> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A guard against a hung child, not a timing assertion.
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${method} within ${patienceMs} ms:\n${this.log}`));
      }, patienceMs);
      this.pending.set(id, {
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.write({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    });
  }

  notify(method: string, params?: unknown): void {
    this.write({ jsonrpc: '2.0', method, ...(params === undefined ? {} : { params }) });
  }

  private write(message: unknown): void {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  /** Closes stdin, as a host does when it is done; the child should exit on its own. */
  async close(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
