import test from 'ava';
import { Limiter } from '../../../src/gateway/limiter.ts';

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('no more than the limit run at once; the others wait their turn', async (t) => {
  const limiter = new Limiter(2);
  let running = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 6 }, () =>
      limiter.run(async () => {
        most = Math.max(most, ++running);
        await later(20);
        running--;
      }, 1000),
    ),
  );
  t.is(most, 2);
  t.is(limiter.inFlight, 0);
});

test('a task that cannot start within its wait fails as busy; a cancelled wait fails as cancelled', async (t) => {
  const limiter = new Limiter(1);
  const holding = limiter.run(() => later(200), 1000);
  await t.throwsAsync(limiter.run(async () => 'never', 20), { message: 'busy' });
  const controller = new AbortController();
  const waiting = limiter.run(async () => 'never', 1000, controller.signal);
  controller.abort();
  await t.throwsAsync(waiting, { message: 'cancelled' });
  await holding;
  t.is(await limiter.run(async () => 'free again', 10), 'free again');
  t.is(limiter.queued, 0);
});
