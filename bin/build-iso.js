#!/usr/bin/env node
// The published package ships dist/ (built by `npm pack`/`npm publish` through
// the prepack script); installing it runs no build. A source checkout after
// `npm ci` has no dist/ until `npm run build` (npm test and npm run demo build
// first): then the TypeScript sources run through tsx, a devDependency.
import { existsSync } from 'node:fs';

const dist = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (existsSync(dist)) {
  ({ main } = await import(dist.href));
} else {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch {
    process.stderr.write('build-iso: error: this copy is not built (no dist/)\n  hint: run `npm run build` in its folder\n');
    process.exit(70);
  }
  ({ main } = await import(new URL('../src/cli/main.ts', import.meta.url).href));
}

process.exitCode = await main(process.argv);
