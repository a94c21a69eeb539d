/**
 * Element export fixtures for the adapter tests: the static JSON documents in
 * test/fixtures/element/, the attachments an en-US browser at UTC+2 would have written for
 * them, and builders for the zip and folder forms.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildZip } from '../../support/zip-builder.js';

export const FIRST = 'test/fixtures/element/first.json';
export const SECOND = 'test/fixtures/element/second.json';
export const ROOM_ID = '!ferry:example.org';
/** The root folder Element ≥ v3.35 puts in its zips. */
export const ROOT = 'matrix - Ferry Crew - Chat Export - 2024-05-01T11-00-00.000Z';

/**
 * Attachment name → event it belongs to. Times are the events' `origin_server_ts` at UTC+2
 * in en-US (`5/1/2024`, `12:14:00 PM` with Chrome's narrow no-break space); `$video` has no
 * file (Element dropped it: size cap). The two `screenshot` images are 30 minutes apart, so
 * each one's file also fits the other one at a plausible offset; the `screenshot-extra` file
 * belongs to no event.
 */
export const ATTACHMENTS: Record<string, string | undefined> = {
  'images/screenshot-5-1-2024 at 12-14-00\u202fPM.png': '$image',
  'images/screenshot-5-1-2024 at 12-44-00 PM.png': '$image2',
  'images/screenshot-extra-5-1-2024 at 12-14-00 PM.png': undefined,
  'files/notes-5-1-2024 at 12-15-00 PM.pdf': '$file',
  'stickers/party-5-1-2024 at 12-32-00 PM.png': '$sticker',
  'audio/Voice message-5-1-2024 at 12-33-00 PM.ogg': '$voice',
};

/** Each attachment's body names its own path, so a test can tell them apart. */
export const attachmentBody = (path: string): string => `body of ${path}`;

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'ferry-element-'));
}

/** The first export as Element writes it with attachments: a zip, with or without the root folder. */
export async function firstAsZip(opts: { rootFolder: boolean }): Promise<string> {
  const prefix = opts.rootFolder ? `${ROOT}/` : '';
  const items = [
    { name: `${prefix}export.json`, data: readFileSync(FIRST) },
    ...Object.keys(ATTACHMENTS).map((path) => ({
      name: `${prefix}${path}`,
      data: attachmentBody(path),
    })),
  ];
  const out = join(tempDir(), `${ROOT}.zip`);
  writeFileSync(out, await buildZip(items));
  return out;
}

/** The same export unzipped (the folder the zip was extracted into, root folder inside). */
export function firstAsFolder(): string {
  const dir = join(tempDir(), 'extracted');
  const files: [string, string | Buffer][] = [
    [`${ROOT}/export.json`, readFileSync(FIRST)],
    ...Object.keys(ATTACHMENTS).map((p): [string, string] => [`${ROOT}/${p}`, attachmentBody(p)]),
  ];
  for (const [path, data] of files) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  return dir;
}

/** Writes a small export document (pretty-printed like Element) and returns its path. */
export function writeExport(
  messages: unknown[],
  meta: Record<string, unknown> = { room_name: 'Test Room', exported_by: 'Tester' },
): string {
  const path = join(tempDir(), 'export.json');
  writeFileSync(path, JSON.stringify({ ...meta, messages }, null, 2));
  return path;
}

/** A minimal event of the test room. */
export function event(
  id: string,
  type: string,
  sender: string,
  content: Record<string, unknown>,
  more: Record<string, unknown> = {},
): Record<string, unknown> {
  const n = Number(/\d+/.exec(id)?.[0] ?? 0);
  return {
    type,
    room_id: ROOM_ID,
    sender,
    content,
    origin_server_ts: 1714557600000 + n * 1000,
    unsigned: {},
    event_id: id,
    ...more,
  };
}
