/**
 * Media of the live source: every file event's body is fetched from the homeserver (through
 * authenticated media, homeserver-client.ts) into the media folder, decrypted first when it
 * is an encrypted attachment (`file` instead of `url`; sha256 checked by src/e2ee), so that the
 * folder holds plaintext and push reads it like an export's attachments.
 *
 * The resolver the shared mapper calls is synchronous, so it only names the body
 * (`<server>/<media id>` in the folder) and remembers it; `settle` then fetches what the page
 * needs, before the page's items are yielded (and so before its checkpoint commits). A body
 * already in the folder is not fetched again; one that cannot be fetched leaves its media record
 * without a body, with a `file_body_not_in_export` loss.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decryptAttachment, parseEncryptedFile } from '../../e2ee/encrypted-attachment.js';
import type { Logger } from '../../logger.js';
import type { SourceItem } from '../../model/index.js';
import { isMxcUri, matrixMediaKey } from '../../model/matrix-keys.js';
import { obj, str, type MediaResolver } from '../matrix-events/index.js';
import type { HomeserverClient } from './homeserver-client.js';
import type { MediaReport } from './live-report.js';

interface Wanted {
  server: string;
  mediaId: string;
  /** The event's `file` object of an encrypted attachment. */
  file?: unknown;
  localPath: string;
}

/** Server names and media IDs that are safe as path segments (no `..`, no separators). */
const SERVER = /^[A-Za-z0-9.:[\]-]+$/;
const MEDIA_ID = /^[A-Za-z0-9_=.-]+$/;

export class LiveMedia {
  readonly report: MediaReport = { downloaded: 0, already_stored: 0, bytes: 0, failed: {} };
  readonly #wanted = new Map<string, Wanted>();

  constructor(
    private readonly client: HomeserverClient,
    private readonly dir: string,
    private readonly logger: Logger,
  ) {}

  /** The mapper's resolver: an mxc URI (plain or encrypted file) → its place in the folder. */
  readonly resolver: MediaResolver = ({ content }) => {
    const file = obj(content.file);
    const url = str(content.url) ?? str(file?.url);
    if (url === undefined || !isMxcUri(url)) return undefined;
    const [server = '', mediaId = ''] = url.slice('mxc://'.length).split('/');
    if (!safeSegment(server, SERVER) || !safeSegment(mediaId, MEDIA_ID)) return undefined;
    const localPath = `${server}/${mediaId}`;
    this.#wanted.set(url, { server, mediaId, localPath, ...(file === undefined ? {} : { file }) });
    return {
      key: matrixMediaKey(url),
      nativeId: url,
      availability: 'available',
      localPath,
      losses: [],
    };
  };

  /** Fetches the bodies the items name; media records whose body failed lose `localPath`. */
  async settle(items: SourceItem[]): Promise<SourceItem[]> {
    const failed = new Set<string>();
    for (const [url, want] of this.#wanted) {
      if (!(await this.#fetch(want))) failed.add(url);
    }
    this.#wanted.clear();
    if (failed.size === 0) return items;
    return items.flatMap((item): SourceItem[] => {
      if (item.type !== 'media' || !failed.has(item.media.nativeId)) return [item];
      const { localPath: _dropped, ...media } = item.media;
      void _dropped;
      return [
        { type: 'media', media },
        { type: 'loss', reason: 'file_body_not_in_export', where: item.media.nativeId },
      ];
    });
  }

  async #fetch(want: Wanted): Promise<boolean> {
    const path = join(this.dir, want.localPath);
    if (await exists(path)) {
      this.report.already_stored += 1;
      return true;
    }
    const got = await this.client.download(want.server, want.mediaId);
    if (!got.ok) return this.#failed(`http_${got.status}`, want);
    let bytes = got.bytes;
    if (want.file !== undefined) {
      const info = parseEncryptedFile(want.file);
      if (typeof info === 'string') return this.#failed(info, want);
      const clear = decryptAttachment(info, bytes);
      if (!clear.ok) return this.#failed(clear.reason, want);
      bytes = clear.bytes;
    }
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.part`;
    await writeFile(partial, bytes);
    await rename(partial, path);
    this.report.downloaded += 1;
    this.report.bytes += bytes.length;
    return true;
  }

  #failed(reason: string, want: Wanted): false {
    this.report.failed[reason] = (this.report.failed[reason] ?? 0) + 1;
    this.logger.warn(
      { media: `mxc://${want.server}/${want.mediaId}`, reason },
      'media not fetched',
    );
    return false;
  }
}

function safeSegment(s: string, pattern: RegExp): boolean {
  return pattern.test(s) && s !== '.' && s !== '..';
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
