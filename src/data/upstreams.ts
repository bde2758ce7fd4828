import type { Queryable } from './engines/store.ts';

/** The `upstreams` table: upstream MCP servers an administrator added, changed or disabled. */

export interface UpstreamRow {
  name: string;
  definition: string;
  enabled: boolean;
  updatedBy: string | null;
  updatedAt: number;
}

interface Raw {
  name: string;
  definition: string;
  enabled: number;
  updated_by: string | null;
  updated_at: number;
}

export async function listUpstreamRows(db: Queryable): Promise<UpstreamRow[]> {
  const rows = await db.all<Raw>('SELECT name, definition, enabled, updated_by, updated_at FROM upstreams ORDER BY name');
  return rows.map((row) => ({
    name: row.name,
    definition: row.definition,
    enabled: Number(row.enabled) === 1,
    updatedBy: row.updated_by,
    updatedAt: Number(row.updated_at),
  }));
}

/** The newest change, so an instance re-reads the table only when something changed. */
export async function upstreamsVersion(db: Queryable): Promise<string> {
  const row = await db.get<{ n: number; latest: number | null }>('SELECT COUNT(*) AS n, MAX(updated_at) AS latest FROM upstreams');
  return `${Number(row?.n ?? 0)}:${Number(row?.latest ?? 0)}`;
}

export async function saveUpstreamRow(db: Queryable, row: { name: string; definition: string; enabled: boolean; updatedBy: string }): Promise<void> {
  await db.run(
    `INSERT INTO upstreams (name, definition, enabled, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, enabled = excluded.enabled,
       updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
    [row.name, row.definition, row.enabled ? 1 : 0, row.updatedBy, Date.now()],
  );
}
