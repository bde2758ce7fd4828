import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { findUserById } from '../../domain/accounts.ts';
import type { Store } from '../../data/engines/store.ts';
import { defineTool, type Tool, type ToolModule } from './registry.ts';

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const json = (value: unknown) => ({ ...text(JSON.stringify(value, null, 2)), structuredContent: value as Record<string, unknown> });

async function clientName(store: Store, clientId: string): Promise<string | null> {
  if (clientId.startsWith('pat:')) {
    const row = await store.get<{ name: string }>('SELECT name FROM personal_access_tokens WHERE id = ?', [clientId.slice(4)]);
    return row ? `personal access token "${row.name}"` : null;
  }
  const row = await store.get<{ payload: string }>("SELECT payload FROM oidc_models WHERE model = 'Client' AND id = ?", [clientId]);
  return row ? ((JSON.parse(row.payload) as { client_name?: string }).client_name ?? null) : null;
}

const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description: 'Shows who this connection acts for: the person, the client app, the granted scopes, and the protocol era and session in use.',
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(_args, { principal, era, protocolVersion, inSession, store }) {
    const user = await findUserById(store, principal.userId);
    return json({
      user: { id: principal.userId, email: user?.email ?? null, name: user?.name ?? null },
      client: { id: principal.clientId, name: await clientName(store, principal.clientId) },
      credential: principal.kind === 'pat' ? 'personal access token' : 'OAuth access token',
      scopes: principal.scopes,
      era,
      protocolVersion: protocolVersion ?? (era === 'modern' ? '2026-07-28' : null),
      session: inSession ? 'legacy session' : 'none (stateless request)',
    });
  },
});

const MAX_NOTE = 10_000;

const notesAdd = defineTool({
  name: 'notes_add',
  title: 'Add a note',
  description: 'Saves a short note for you. Only you can see your notes.',
  inputSchema: z.object({ text: z.string().min(1).max(MAX_NOTE).describe('The note to save') }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  scopes: ['mcp:tools', 'mcp:write'],
  async run({ text: note }, { principal, store }) {
    const id = randomUUID();
    const createdAt = Date.now();
    await store.run('INSERT INTO notes (id, user_id, text, created_at) VALUES (?, ?, ?, ?)', [id, principal.userId, note, createdAt]);
    return json({ id, text: note, createdAt: new Date(createdAt).toISOString() });
  },
});

interface NoteRow {
  id: string;
  text: string;
  created_at: number;
}
const toNote = (row: NoteRow) => ({ id: row.id, text: row.text, createdAt: new Date(row.created_at).toISOString() });

const notesList = defineTool({
  name: 'notes_list',
  title: 'List notes',
  description: 'Lists your notes, newest first.',
  inputSchema: z.object({ limit: z.number().int().min(1).max(200).default(50).describe('How many notes to return') }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run({ limit }, { principal, store }) {
    const rows = await store.all<NoteRow>('SELECT id, text, created_at FROM notes WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?', [
      principal.userId,
      limit,
    ]);
    return json({ notes: rows.map(toNote) });
  },
});

const notesSearch = defineTool({
  name: 'notes_search',
  title: 'Search notes',
  description: 'Finds your notes that contain the given words (case-insensitive).',
  inputSchema: z.object({ query: z.string().min(1).max(200).describe('Text to look for') }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run({ query }, { principal, store }) {
    const pattern = `%${query.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
    const rows = await store.all<NoteRow>(
      "SELECT id, text, created_at FROM notes WHERE user_id = ? AND LOWER(text) LIKE ? ESCAPE '\\' ORDER BY created_at DESC LIMIT 100",
      [principal.userId, pattern],
    );
    return json({ query, notes: rows.map(toNote) });
  },
});

const notesDelete = defineTool({
  name: 'notes_delete',
  title: 'Delete a note',
  description: 'Deletes one of your notes by its id.',
  inputSchema: z.object({ id: z.string().min(1).max(100).describe('The id of the note') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  scopes: ['mcp:tools', 'mcp:write'],
  async run({ id }, { principal, store }) {
    const { changes } = await store.run('DELETE FROM notes WHERE id = ? AND user_id = ?', [id, principal.userId]);
    return changes === 1 ? json({ deleted: id }) : { isError: true, content: [{ type: 'text', text: `You have no note with id ${id}.` }] };
  },
});

export const BUILTIN_TOOLS: Tool[] = [whoami, notesAdd, notesList, notesSearch, notesDelete];

export const builtinModule: ToolModule = { tools: BUILTIN_TOOLS };
