import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** Copies a fixture folder (keeping its name) to a temp dir so a test can change it. */
export function copyFixture(dir: string): string {
  const out = join(mkdtempSync(join(tmpdir(), 'ferry-fixture-')), basename(dir));
  cpSync(dir, out, { recursive: true });
  return out;
}

export function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

export function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 1));
}
