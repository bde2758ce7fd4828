import { randomUUID } from 'node:crypto';
import type { Queryable } from '../data/engines/store.ts';
import { deleteNote, insertNote, latestNotes, searchNotes, type Note } from '../data/notes.ts';

export type { Note } from '../data/notes.ts';

export const MAX_NOTE_LENGTH = 10_000;

/** One person's notes: nothing here can reach anyone else's. */
export interface PersonalNotes {
  add(text: string): Promise<Note>;
  latest(limit: number): Promise<Note[]>;
  search(query: string): Promise<Note[]>;
  /** False when the person has no note with this id. */
  delete(id: string): Promise<boolean>;
}

export function notesOf(db: Queryable, userId: string): PersonalNotes {
  return {
    async add(text) {
      const note = { id: randomUUID(), text, createdAt: Date.now() };
      await insertNote(db, userId, note);
      return note;
    },
    latest: (limit) => latestNotes(db, userId, limit),
    search: (query) => searchNotes(db, userId, query, 100),
    delete: (id) => deleteNote(db, userId, id),
  };
}
