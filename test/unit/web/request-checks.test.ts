import test from 'ava';
import { localPath } from '../../../src/web/admin/request-checks.ts';
import { responseModeFor } from '../../../src/web/mcp-endpoint.ts';

test('a next path is kept only when the browser would stay on our origin', (t) => {
  t.is(localPath('/admin/users?q=a'), '/admin/users?q=a');
  t.is(localPath('/account'), '/account');
  for (const elsewhere of ['//evil.test', '/..//evil.test', '/.//evil.test', '/%2e%2e//evil.test', '/%2E%2E//evil.test', '/\\evil.test', 'https://evil.test/', 'evil.test', '/\u0000x']) {
    t.is(localPath(elsewhere), undefined, elsewhere);
  }
  t.is(localPath(undefined), undefined);
  t.is(localPath(['/admin']), undefined);
});

test('every Accept habit gets an answer type it can read', (t) => {
  t.is(responseModeFor(undefined), 'auto');
  t.is(responseModeFor('*/*'), 'auto');
  t.is(responseModeFor('application/json'), 'json');
  t.is(responseModeFor('text/event-stream'), 'sse');
  t.is(responseModeFor('application/json, text/event-stream'), 'auto');
  t.is(responseModeFor('text/event-stream;q=0.9, application/*;q=0.8'), 'auto');
  t.is(responseModeFor('TEXT/EVENT-STREAM'), 'sse');
});
