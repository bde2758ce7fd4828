// Bundles the TypeScript sources into ES modules for `npm start`: the entry,
// dist/gatehouse.js, and the chunks it loads on demand beside it (split so the
// entry can restart the process before the dependencies load; see src/main.ts).
// Dependencies stay in node_modules; views, migrations and public files are
// read from the project folder at run time (see src/paths.ts).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry a content hash: the previous build's would pile up.
mkdirSync('dist', { recursive: true });
for (const file of readdirSync('dist', { withFileTypes: true }).filter((entry) => entry.name.startsWith('gatehouse'))) rmSync(`dist/${file.name}`);

await build({
  entryPoints: { gatehouse: 'src/main.ts' },
  outdir: 'dist',
  chunkNames: 'gatehouse-[name]-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  packages: 'external',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
