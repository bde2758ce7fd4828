import test from 'ava';
import { classifyStoreError, StoreRefused, StoreUnavailable } from '../../../src/data/engines/store.ts';

const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

test('a database that cannot be reached is StoreUnavailable (503); one that refuses a change is StoreRefused (409)', (t) => {
  for (const error of [coded('ECONNREFUSED'), coded('57P01'), coded('08006'), coded('SQLITE_BUSY'), coded('SQLITE_IOERR_WRITE'), new Error('Connection terminated unexpectedly')]) {
    t.throws(() => classifyStoreError(error), { instanceOf: StoreUnavailable }, String((error as { code?: string }).code ?? error.message));
  }
  for (const error of [coded('23505'), coded('P0001'), coded('SQLITE_CONSTRAINT_TRIGGER')]) {
    t.throws(() => classifyStoreError(error), { instanceOf: StoreRefused });
  }
  const other = coded('42601', 'syntax error');
  t.is(t.throws(() => classifyStoreError(other)), other, 'anything else is thrown as it is');
});
