import { z } from 'zod';
import { MAX_NOTE_LENGTH, type Note } from '../../domain/notes.ts';
import { defineTool, type Tool, type ToolModule } from './registry.ts';

const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
const json = (value: unknown) => ({ ...text(JSON.stringify(value, null, 2)), structuredContent: value as Record<string, unknown> });
const shown = (note: Note) => ({ id: note.id, text: note.text, createdAt: new Date(note.createdAt).toISOString() });

const CREDENTIALS = {
  oauth: 'OAuth access token',
  pat: 'personal access token',
  service: 'OAuth client credentials (service principal)',
} as const;

const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description: 'Shows who this connection acts for: the person, the client app, the granted scopes, and the protocol era and session in use.',
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(_args, { principal, era, protocolVersion, inSession, who }) {
    const { person, client } = await who();
    return json({
      user: person,
      client,
      credential: CREDENTIALS[principal.kind],
      ...(principal.kind === 'service' ? { principal: 'service: a machine client acting for itself, on behalf of no person' } : {}),
      scopes: principal.scopes,
      era,
      protocolVersion: protocolVersion ?? (era === 'modern' ? '2026-07-28' : null),
      session: inSession ? 'legacy session' : 'none (stateless request)',
    });
  },
});

const notesAdd = defineTool({
  name: 'notes_add',
  title: 'Add a note',
  description: 'Saves a short note for you. Only you can see your notes.',
  inputSchema: z.object({ text: z.string().min(1).max(MAX_NOTE_LENGTH).describe('The note to save') }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  scopes: ['mcp:tools', 'mcp:write'],
  async run({ text: note }, { notes }) {
    return json(shown(await notes.add(note)));
  },
});

const notesList = defineTool({
  name: 'notes_list',
  title: 'List notes',
  description: 'Lists your notes, newest first.',
  inputSchema: z.object({ limit: z.number().int().min(1).max(200).default(50).describe('How many notes to return') }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run({ limit }, { notes }) {
    return json({ notes: (await notes.latest(limit)).map(shown) });
  },
});

const notesSearch = defineTool({
  name: 'notes_search',
  title: 'Search notes',
  description: 'Finds your notes that contain the given words (case-insensitive).',
  inputSchema: z.object({ query: z.string().min(1).max(200).describe('Text to look for') }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run({ query }, { notes }) {
    return json({ query, notes: (await notes.search(query)).map(shown) });
  },
});

const notesDelete = defineTool({
  name: 'notes_delete',
  title: 'Delete a note',
  description: 'Deletes one of your notes by its id.',
  inputSchema: z.object({ id: z.string().min(1).max(100).describe('The id of the note') }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  scopes: ['mcp:tools', 'mcp:write'],
  async run({ id }, { notes }) {
    return (await notes.delete(id)) ? json({ deleted: id }) : { isError: true, content: [{ type: 'text', text: `You have no note with id ${id}.` }] };
  },
});

export const BUILTIN_TOOLS: Tool[] = [whoami, notesAdd, notesList, notesSearch, notesDelete];

export const builtinModule: ToolModule = { tools: BUILTIN_TOOLS };
