// Bundles the TypeScript sources into one ES module for `npm start`.
// Dependencies stay in node_modules; views, migrations and public files are
// read from the project folder at run time (see src/paths.ts).
import { build } from 'esbuild';

await build({
  entryPoints: ['src/main.ts'],
  outfile: 'dist/gatehouse.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
