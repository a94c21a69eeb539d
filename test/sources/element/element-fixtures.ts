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

/** The room of `encryptedExport`. */
export const ENCRYPTED_ROOM_ID = '!secret:example.org';

/** A 1×1 PNG: real image bytes for an attachment. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC',
  'base64',
);

/**
 * An Element export (unzipped folder) of an encrypted room, as Element writes one: the events
 * decrypted, each image's `content.file` (key, iv, hashes) kept, and the decrypted file of
 * `$2` (boat.png) in `images/` — en-US at UTC+2, like the other fixtures; `$3` (lost.png) has
 * no file (Element failed to fetch it, or attachments were capped).
 */
export function encryptedExport(): string {
  const dir = join(tempDir(), 'secret-export');
  const encrypted = (media: string) => ({
    url: `mxc://example.org/${media}`,
    key: {
      kty: 'oct',
      key_ops: ['encrypt', 'decrypt'],
      alg: 'A256CTR',
      k: 'qcHVMSgYg-71CauWBezXI5qkaRb0LuIy-Wx5kIaHMIA',
      ext: true,
    },
    iv: 'X85+XgHN+HEAAAAAAAAAAA',
    hashes: { sha256: '5qG4fFnbbVdlAB1Q72JDKwCagV6Dbkx9uds4rSak37c' },
    v: 'v2',
  });
  const image = (body: string) => ({
    msgtype: 'm.image',
    body,
    info: { mimetype: 'image/png', size: TINY_PNG.length, w: 1, h: 1 },
    file: encrypted(body.replace('.png', '')),
  });
  const inRoom = (e: Record<string, unknown>) => ({ ...e, room_id: ENCRYPTED_ROOM_ID });
  const messages = [
    inRoom(
      event(
        '$0',
        'm.room.create',
        '@alice:example.org',
        { creator: '@alice:example.org', room_version: '10' },
        { state_key: '' },
      ),
    ),
    inRoom(
      event(
        '$1',
        'm.room.encryption',
        '@alice:example.org',
        { algorithm: 'm.megolm.v1.aes-sha2' },
        { state_key: '' },
      ),
    ),
    inRoom(event('$2', 'm.room.message', '@alice:example.org', image('boat.png'))),
    inRoom(event('$3', 'm.room.message', '@alice:example.org', image('lost.png'))),
    inRoom(
      event('$4', 'm.room.message', '@alice:example.org', { msgtype: 'm.text', body: 'see above' }),
    ),
  ];
  mkdirSync(join(dir, 'images'), { recursive: true });
  writeFileSync(
    join(dir, 'export.json'),
    JSON.stringify({ room_name: 'Secret Boats', exported_by: 'Alice', messages }, null, 2),
  );
  writeFileSync(join(dir, 'images', 'boat-5-1-2024 at 12-00-02 PM.png'), TINY_PNG);
  return dir;
}
