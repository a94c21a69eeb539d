import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildZip } from './zip-builder.js';

function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesBelow(path) : [path];
  });
}

/**
 * Zips a fixture folder the way Slack does (UTF-8 names without the UTF-8 flag), optionally
 * inside a wrapper folder, and writes it to `out`.
 */
export async function zipFolder(
  dir: string,
  out: string,
  opts: { wrapper?: string } = {},
): Promise<string> {
  const items = filesBelow(dir).map((path) => ({
    name:
      (opts.wrapper === undefined ? '' : `${opts.wrapper}/`) +
      relative(dir, path).split('\\').join('/'),
    data: readFileSync(path),
  }));
  writeFileSync(out, await buildZip(items, { clearUtf8Flag: true }));
  return out;
}
