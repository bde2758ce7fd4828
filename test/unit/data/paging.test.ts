import test from 'ava';
import { containsPattern, decodeKey, encodeKey, keysetPage, pageRequest, type Key } from '../../../src/data/paging.ts';

const rows = Array.from({ length: 7 }, (_, i) => ({ at: 1000 - i * 10, id: `r${i}` }));
const keyOf = (row: { at: number; id: string }): Key => [row.at, row.id];

/** The query keysetPage asks for, run over the rows in memory. */
function fetchFrom(where: { sql: string; params: unknown[] } | undefined, order: 'DESC' | 'ASC', limit: number) {
  const [at, id] = (where?.params ?? []) as Key | [];
  const compare = (row: { at: number; id: string }) => (row.at !== at ? row.at - at! : row.id.localeCompare(id!));
  const kept = where ? rows.filter((row) => (where.sql === '<' ? compare(row) < 0 : compare(row) > 0)) : rows;
  const sorted = [...kept].sort((a, b) => (order === 'DESC' ? b.at - a.at : a.at - b.at));
  return Promise.resolve(sorted.slice(0, limit));
}

test('pages go newest first, each with links both ways, and come back the same way', async (t) => {
  const first = await keysetPage({ size: 3 }, keyOf, fetchFrom);
  t.deepEqual(first.rows.map((row) => row.id), ['r0', 'r1', 'r2']);
  t.is(first.newer, undefined);
  const second = await keysetPage(pageRequest({ after: first.older }, 3), keyOf, fetchFrom);
  t.deepEqual(second.rows.map((row) => row.id), ['r3', 'r4', 'r5']);
  const last = await keysetPage(pageRequest({ after: second.older }, 3), keyOf, fetchFrom);
  t.deepEqual(last.rows.map((row) => row.id), ['r6']);
  t.is(last.older, undefined);
  const back = await keysetPage(pageRequest({ before: second.newer }, 3), keyOf, fetchFrom);
  t.deepEqual(back.rows.map((row) => row.id), ['r0', 'r1', 'r2']);
});

test('a mangled or foreign page key is no key (the first page), never an error', (t) => {
  t.deepEqual(decodeKey(encodeKey([5, 'x'])), [5, 'x']);
  for (const mangled of ['', 'not base64 !', encodeKey([1, 2] as unknown as Key), Buffer.from('"x"').toString('base64url'), 'a'.repeat(3000), 42]) {
    t.is(decodeKey(mangled), undefined);
  }
});

test('search text is matched literally, wildcards included', (t) => {
  t.is(containsPattern('50%_off\\'), '%50\\%\\_off\\\\%');
  t.is(containsPattern('ABC'), '%abc%');
});
