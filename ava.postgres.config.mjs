import { readFileSync } from 'node:fs';

// The same suite on PostgreSQL: every Gatehouse the test helpers start gets a
// fresh database there. The scale-out tests (several instances on one
// database) run only here.
const { ava } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

export default {
  ...ava,
  files: ['test/**/*.test.ts'],
  environmentVariables: { TEST_DATABASE: 'postgres' },
};
