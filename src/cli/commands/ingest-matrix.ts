/**
 * `ferry ingest matrix`: read rooms of a live homeserver with a user's access token into the
 * store, incrementally and resumably (src/sources/matrix-live).
 *
 * Contract:
 * - The token comes from `$MATRIX_TOKEN` only (never a flag); it is never logged or printed.
 *   Unset → `config_invalid` (exit 2); the homeserver refusing it → `config_invalid` "the
 *   homeserver rejected the access token (<errcode>)" (exit 2), before anything is written.
 * - Watermarks are read before the ingest and each one is written in the transaction that
 *   commits its events (`onCheckpoint`), so a kill -9 at any point loses nothing and a rerun
 *   duplicates nothing.
 * - File bodies are written to the media folder (`--media-dir`, default
 *   `./ferry-media/<host>`), which is the run's recorded `input`: push reads the bodies from
 *   there as it reads an export's attachments.
 * - The report is the ingest summary plus `homeserver` (live-report.ts) and `room_keys`.
 */
import { resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import { ingest, type IngestSummary } from '../../ingest/ingest.js';
import type { Logger } from '../../logger.js';
import type { EventDecryptor } from '../../e2ee/decryptor.js';
import { redactUrl } from '../../redact.js';
import { MatrixLiveSource, type MatrixLiveReport } from '../../sources/matrix-live/index.js';
import {
  readMatrixRoomWatermarks,
  writeMatrixRoomWatermark,
} from '../../store/matrix-room-watermarks.js';
import type { Store } from '../../store/store.js';
import { createProgress } from '../progress.js';

export interface IngestMatrixOptions {
  logger: Logger;
  homeserver: string;
  rooms?: string[];
  space?: string;
  mediaDir?: string;
  decryptor?: EventDecryptor;
  progress: boolean;
  /** Where the token is read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Events per /messages page (default 1000). */
  pageSize?: number;
}

export interface IngestMatrixReport extends IngestSummary {
  homeserver: MatrixLiveReport;
}

/** Checks the options that need no network: the token and the URL. */
export function matrixIngestSetup(o: IngestMatrixOptions): {
  token: string;
  homeserver: string;
  mediaDir: string;
} {
  const token = (o.env ?? process.env).MATRIX_TOKEN?.trim();
  if (token === undefined || token === '') {
    throw new FerryError(
      'config_invalid',
      'no Matrix access token: set $MATRIX_TOKEN to the access token of the user whose rooms to read',
    );
  }
  const homeserver = baseUrl(o.homeserver);
  const mediaDir = resolve(o.mediaDir ?? `ferry-media/${new URL(homeserver).host}`);
  return { token, homeserver, mediaDir };
}

export async function runIngestMatrix(
  store: Store,
  o: IngestMatrixOptions,
): Promise<IngestMatrixReport> {
  const { token, homeserver, mediaDir } = matrixIngestSetup(o);
  const source = new MatrixLiveSource({
    homeserver,
    token,
    logger: o.logger,
    selection: {
      ...(o.rooms === undefined ? {} : { rooms: o.rooms }),
      ...(o.space === undefined ? {} : { space: o.space }),
    },
    watermarks: await readMatrixRoomWatermarks(store.knex),
    mediaDir,
    ...(o.decryptor === undefined ? {} : { decryptor: o.decryptor }),
    ...(o.pageSize === undefined ? {} : { pageSize: o.pageSize }),
  });
  const progress = createProgress('matrix', o.progress);
  let summary: IngestSummary;
  try {
    summary = await ingest(source.items(), store, {
      input: mediaDir,
      logger: o.logger,
      onProgress: (done, total, _unit, label) => progress.update(done, total, label),
      onCheckpoint: (trx, w) => {
        if (w.kind !== 'matrix_room') throw new Error(`unexpected ${w.kind} checkpoint`);
        return writeMatrixRoomWatermark(trx, w);
      },
    });
  } finally {
    progress.stop();
  }
  return { ...summary, homeserver: source.report };
}

function baseUrl(url: string): string {
  if (!/^https?:\/\/[^/]/.test(url) || !URL.canParse(url)) {
    throw new FerryError(
      'config_invalid',
      `--homeserver must be an http(s) URL (got ${redactUrl(url)})`,
    );
  }
  return url.replace(/\/+$/, '');
}

/** Text lines added under the ingest summary. */
export function renderMatrixReport(r: MatrixLiveReport): string {
  const skipped = Object.entries(r.rooms.skipped)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const walls = Object.entries(r.per_room).filter(([, p]) => p.history_start === 'visibility_wall');
  const failed = Object.values(r.media.failed).reduce((a, b) => a + b, 0);
  const lines = [
    `Matrix: ${r.user_id} on ${r.homeserver}`,
    `  rooms          ${r.rooms.read} read of ${r.rooms.listed} listed` +
      (skipped === '' ? '' : `; skipped: ${skipped}`),
    `  events         ${r.events} read`,
    `  media          ${r.media.downloaded} downloaded, ${r.media.already_stored} already stored, ${failed} failed (${r.media_dir})`,
    `  requests       ${Object.values(r.requests).reduce((a, b) => a + b, 0)} (${r.rate_limited} rate limited)`,
  ];
  for (const [room, p] of walls) {
    lines.push(`  history wall   ${p.name ?? room}: older events are hidden from this user`);
  }
  return lines.join('\n');
}
