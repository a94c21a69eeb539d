#!/usr/bin/env node
// Runs the compiled CLI (npm run build) when it is current, otherwise the TypeScript sources
// through tsx. Never a stale or missing dist/ silently:
// - dist/ older than a file of src/ or migrations/: the sources run, and stderr says why;
// - no dist/ and no tsx (an install without dev dependencies): a one-line error, exit 1.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'src', 'cli', 'main.js');
const sources = join(root, 'src', 'cli', 'main.ts');

/** Newest modification time of the .ts files under `dir` (0 when there are none). */
function newestSource(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') || entry.name.endsWith('.json'))
      newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

async function runSources(why) {
  let api;
  try {
    api = await import('tsx/esm/api');
  } catch {
    process.stderr.write(
      `ferry: ${why}, and tsx (a dev dependency) is not installed to run the sources: run \`npm run build\` first\n`,
    );
    process.exit(1);
  }
  api.register();
  await import(pathToFileURL(sources).href);
}

if (!existsSync(compiled)) {
  if (!existsSync(sources)) {
    process.stderr.write('ferry: dist/ is missing and there are no sources: reinstall ferry\n');
    process.exit(1);
  }
  await runSources('dist/ is missing');
} else if (
  existsSync(sources) &&
  Math.max(newestSource(join(root, 'src')), newestSource(join(root, 'migrations'))) >
    statSync(compiled).mtimeMs
) {
  process.stderr.write(
    'ferry: dist/ is older than src/; running the sources (`npm run build` refreshes dist/)\n',
  );
  await runSources('dist/ is out of date');
} else {
  await import(pathToFileURL(compiled).href);
}
