/** At most `limit` tasks at once; the rest wait their turn, each no longer than its deadline. */
export class Limiter {
  private running = 0;
  private readonly waiting: { start: () => void; fail: (error: Error) => void }[] = [];

  constructor(private limit: number) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  resize(limit: number): void {
    this.limit = limit;
    this.next();
  }

  async run<T>(task: () => Promise<T>, waitMs: number, signal?: AbortSignal): Promise<T> {
    if (this.running >= this.limit) await this.turn(waitMs, signal);
    else this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.next();
    }
  }

  private turn(waitMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        start: () => {
          clearTimeout(timer);
          resolve();
        },
        fail: reject,
      };
      const leave = (error: Error) => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(error);
      };
      const timer = setTimeout(() => leave(new Error('busy')), waitMs);
      signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        leave(new Error('cancelled'));
      }, { once: true });
      this.waiting.push(entry);
    });
  }

  private next(): void {
    while (this.running < this.limit && this.waiting.length > 0) {
      this.running++;
      this.waiting.shift()!.start();
    }
  }
}
