/**
 * `ferry report`: the migration report, from the store and the ledger only (no network).
 * `--html FILE` writes one self-contained page (migration-report-html.ts); `--json` prints the
 * data; without either a short text summary is printed.
 */
import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import { BLOCK_TYPES } from '../../mapping/slack-blocks.js';
import { migrationReport, type MigrationReport } from '../../store/migration-report.js';
import type { Store } from '../../store/store.js';

export function buildMigrationReport(store: Store): Promise<MigrationReport> {
  return migrationReport(store, { supportedBlockTypes: BLOCK_TYPES });
}

/** Checks that `file` can be written before any work is done (exit 2 naming it otherwise). */
export function checkReportPath(file: string): string {
  const path = resolve(file);
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FerryError('input_invalid', `cannot write ${file}: folder ${dir} does not exist`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) {
    throw new FerryError('input_invalid', `cannot write ${file}: it is a folder`);
  }
  return path;
}

/** Writes the page next to its destination, then renames it: never a half-written file. */
export function writeReportFile(path: string, html: string): void {
  const tmp = resolve(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, html, { mode: 0o644 });
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new FerryError(
      'input_invalid',
      `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

const pad = (v: string | number, n: number): string => String(v).padStart(n);

/** The text form: totals, then one line per room. */
export function renderReportText(r: MigrationReport): string {
  const t = r.totals;
  const out = [
    `Migration report (${r.status.store.location}):`,
    `  rooms ${t.rooms}, messages ${t.messages}, events ${t.events}: sent ${t.sent}, not sent ${t.skipped}, not pushed yet ${t.not_pushed}`,
    `  files ${t.files.total}: uploaded ${t.files.uploaded}, linked ${t.files.linked}, unavailable ${sum(t.files.unavailable)}, not sent ${t.files.not_sent}`,
    `  verify: ${t.verify.ok} ok, ${t.verify.mismatch} mismatch, ${t.verify.not_verified} not verified${t.verify.stale > 0 ? ` (${t.verify.stale} pushed again since)` : ''}`,
    `  ${'room'.padEnd(36)} ${pad('messages', 8)} ${pad('sent', 7)} ${pad('skipped', 7)} ${pad('files', 6)}  verify`,
  ];
  for (const room of r.rooms) {
    const verify = room.verify === null ? 'not verified' : room.verify.ok ? 'ok' : 'MISMATCH';
    out.push(
      `  ${`${room.name ?? room.key}`.slice(0, 36).padEnd(36)} ${pad(room.messages, 8)} ${pad(room.written.sent, 7)} ${pad(room.written.skipped_total, 7)} ${pad(room.files.total, 6)}  ${verify}`,
    );
  }
  return out.join('\n');
}

const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
