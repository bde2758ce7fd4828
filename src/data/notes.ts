import type { Queryable } from './engines/store.ts';

/** The `notes` table: the built-in notes tools' per-person notes. Every query is scoped to one person. */

export interface Note {
  id: string;
  text: string;
  createdAt: number;
}

interface NoteRow {
  id: string;
  text: string;
  created_at: number;
}

const toNote = (row: NoteRow): Note => ({ id: row.id, text: row.text, createdAt: Number(row.created_at) });

export async function insertNote(db: Queryable, userId: string, note: Note): Promise<void> {
  await db.run('INSERT INTO notes (id, user_id, text, created_at) VALUES (?, ?, ?, ?)', [note.id, userId, note.text, note.createdAt]);
}

export async function latestNotes(db: Queryable, userId: string, limit: number): Promise<Note[]> {
  const rows = await db.all<NoteRow>('SELECT id, text, created_at FROM notes WHERE user_id = ? ORDER BY created_at DESC, id LIMIT ?', [userId, limit]);
  return rows.map(toNote);
}

/** Notes containing `query`, case-insensitively, with its wildcards taken literally. */
export async function searchNotes(db: Queryable, userId: string, query: string, limit: number): Promise<Note[]> {
  const pattern = `%${query.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
  const rows = await db.all<NoteRow>(
    "SELECT id, text, created_at FROM notes WHERE user_id = ? AND LOWER(text) LIKE ? ESCAPE '\\' ORDER BY created_at DESC LIMIT ?",
    [userId, pattern, limit],
  );
  return rows.map(toNote);
}

export async function deleteNote(db: Queryable, userId: string, id: string): Promise<boolean> {
  const { changes } = await db.run('DELETE FROM notes WHERE id = ? AND user_id = ?', [id, userId]);
  return changes === 1;
}
