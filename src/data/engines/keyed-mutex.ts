/** One holder at a time per name, within this process; others wait their turn. */
export class KeyedMutex {
  private readonly held = new Map<string, Promise<void>>();

  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    while (this.held.has(name)) await this.held.get(name);
    let release!: () => void;
    this.held.set(name, new Promise((resolve) => (release = resolve)));
    try {
      return await work();
    } finally {
      this.held.delete(name);
      release();
    }
  }
}
