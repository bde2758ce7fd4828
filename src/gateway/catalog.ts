import type { Store } from '../data/engines/store.ts';
import { TOPICS, type Notifications } from '../data/notifications.ts';
import { listUpstreamRows, saveUpstreamRow, upstreamsVersion } from '../data/upstreams.ts';
import type { Logger } from '../ops/logging.ts';
import { parseUpstream, type UpstreamDefinition } from './definition.ts';

export interface CatalogEntry {
  definition: UpstreamDefinition;
  enabled: boolean;
}

/**
 * Which upstreams exist: the UPSTREAMS file, overlaid by the `upstreams`
 * table (an administrator's entry replaces a file entry of the same name, and
 * a disabled row hides it). A change made on any instance reaches the others
 * through the Store's notifications, and a short re-read of the table's
 * version bounds how late it lands where notifications do not reach (SQLite,
 * a missed message).
 */
export class UpstreamCatalog {
  private entries = new Map<string, CatalogEntry>();
  private version = '';
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly listeners: ((name: string) => void)[] = [];

  constructor(
    private readonly options: { store: Store; notifications: Notifications; fromFile: readonly UpstreamDefinition[]; logger: Logger; rereadEveryMs?: number },
  ) {
    options.notifications.on(TOPICS.upstreamsChanged, () => void this.reload(true));
    options.notifications.onGap(() => void this.reload(true));
    this.timer = setInterval(() => void this.reload(false), options.rereadEveryMs ?? 2000);
    this.timer.unref();
  }

  async start(): Promise<void> {
    await this.reload(true);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Told the name of each upstream whose definition changed or went away (its connections must be rebuilt). */
  onChange(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  /** An enabled upstream by name. */
  get(name: string): UpstreamDefinition | undefined {
    const entry = this.entries.get(name);
    return entry?.enabled ? entry.definition : undefined;
  }

  all(): CatalogEntry[] {
    return [...this.entries.values()].sort((a, b) => a.definition.name.localeCompare(b.definition.name));
  }

  /** Adds or changes an upstream from the admin page; validated like the file. */
  async save(name: string, settings: unknown, enabled: boolean, by: string): Promise<UpstreamDefinition> {
    const definition = parseUpstream(name, settings, 'admin');
    await saveUpstreamRow(this.options.store, { name, definition: JSON.stringify(definition.settings), enabled, updatedBy: by });
    await this.options.notifications.publish(TOPICS.upstreamsChanged, { name });
    await this.reload(true);
    return definition;
  }

  private async reload(force: boolean): Promise<void> {
    try {
      const version = await upstreamsVersion(this.options.store);
      if (!force && version === this.version) return;
      const rows = await listUpstreamRows(this.options.store);
      const next = new Map<string, CatalogEntry>();
      for (const definition of this.options.fromFile) next.set(definition.name, { definition, enabled: true });
      for (const row of rows) {
        try {
          next.set(row.name, { definition: parseUpstream(row.name, JSON.parse(row.definition), 'admin'), enabled: row.enabled });
        } catch (error) {
          // Written through the same schema; a row this version cannot read is skipped, not fatal.
          this.options.logger.warn({ upstream: row.name, err: (error as Error).message }, 'upstream row ignored');
        }
      }
      const previous = this.entries;
      // An entry that did not change stays the same object: sessions held with it carry on.
      for (const [name, entry] of next) {
        const before = previous.get(name);
        if (before && JSON.stringify(before) === JSON.stringify(entry)) next.set(name, before);
      }
      this.entries = next;
      this.version = version;
      for (const name of new Set([...previous.keys(), ...next.keys()])) {
        const before = previous.get(name);
        const after = next.get(name);
        if (before && before !== after) for (const listener of this.listeners) listener(name);
      }
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not read the upstreams table');
    }
  }
}
