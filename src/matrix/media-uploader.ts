/**
 * Puts a file's body into the homeserver's media repository (matrix-import.md §6) and tells
 * the room writer what to reference: an `mxc://` URI, or why there is none so that it can
 * post a link or a placeholder instead.
 *
 * Where a body comes from, in order:
 * 1. `availability !== 'available'` (hidden by the plan limit, deleted, external, access
 *    denied): `source_stub`, without any I/O.
 * 2. `record.size > maxUploadBytes`: `too_large`, without any I/O.
 * 3. `localPath` present in the archive: the archive entry. Entries up to
 *    `streamThresholdBytes` are read into one buffer; larger ones are streamed to the
 *    homeserver (the entry size from the archive index is the `Content-Length`, and each
 *    upload retry re-opens the entry).
 * 4. Otherwise `remoteUrl`: `download_disabled` unless `allowDownload`; `not_in_export` when
 *    there is no http(s) URL at all. Downloads follow redirects, send `downloadHeaders`, give
 *    up after `downloadTimeoutMs` without progress, and make up to 3 attempts on 5xx, 429
 *    and network errors; any other non-2xx is `download_failed`. A body whose length is
 *    known (`Content-Length` without content-encoding) and above `streamThresholdBytes` is
 *    streamed to the homeserver; anything else is buffered, stopping as soon as it passes
 *    `maxUploadBytes`.
 *
 * An HTML page where a file was expected (Slack's login page for an expired export token,
 * served with 200) is `html_instead_of_file`: either `Content-Type: text/html`, or the first
 * bytes are `<!DOCTYPE html` / `<html`, while the record's type is not HTML. Archive bodies
 * get the same sniff.
 *
 * Errors: a 413 from the homeserver is `too_large`. Other homeserver errors propagate as the
 * client's errors (already retried per `retry.ts`, `retryable` set). Archive errors (corrupt
 * entry) propagate as `FerryError`s. Nothing thrown or logged here contains a URL's query
 * string or a download header.
 *
 * Memory: one call holds at most one body, and only when it is at most
 * `streamThresholdBytes` (or, for a download of unknown length, `maxUploadBytes`).
 * Concurrency is the caller's choice: N concurrent `upload` calls may hold N bodies.
 */
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { MediaRecord } from '../model/index.js';
import { redactUrl } from '../redact.js';
import type { MatrixClient, UploadBody } from './client.js';
import { isStatus } from './client-errors.js';
import {
  download,
  guessMimetype,
  isHtmlType,
  mediaTypeOf,
  SNIFF_BYTES,
  sniffsAsHtml,
} from './media-body.js';
import type { UserId } from './types.js';

/**
 * What the uploader needs from an export archive: the part of `ArchiveReader` (src/archive) it
 * uses, declared here so that the Matrix side does not depend on how exports are read. An
 * `ArchiveReader` satisfies it.
 */
export interface MediaArchive {
  entries(): readonly { path: string; size: number }[];
  readBuffer(path: string): Promise<Buffer>;
  openStream(path: string): Promise<NodeJS.ReadableStream>;
}

export interface MediaUploaderOptions {
  client: MatrixClient;
  /**
   * The export archive, to read bodies that are inside it (`localPath`). Called at most once,
   * on the first record with a `localPath`; `undefined` means there is no archive. The caller
   * owns the reader and closes it.
   */
  openArchive: () => Promise<MediaArchive | undefined>;
  /** Download bodies from `remoteUrl` when they are not in the export (default false). */
  allowDownload?: boolean;
  /**
   * Larger files are not uploaded; the writer posts a link instead (default 50 MiB,
   * Synapse's default `max_upload_size`).
   */
  maxUploadBytes?: number;
  fetch?: typeof fetch;
  logger?: Logger;
  /** Extra HTTP headers for downloads (e.g. `Authorization: Bearer <slack token>`); never logged. */
  downloadHeaders?: Record<string, string>;
  /** Only URLs whose host matches receive `downloadHeaders` (default: every URL). */
  downloadHeaderHosts?: RegExp;
  /** Bodies above this many bytes are streamed rather than buffered (default 8 MiB). */
  streamThresholdBytes?: number;
  /** A download is abandoned after this long without headers or data (default 60 s). */
  downloadTimeoutMs?: number;
  /** Test seam for the pause between download attempts (1 s, then 2 s). */
  sleep?: (ms: number) => Promise<void>;
}

export type MediaUploadResult =
  | { status: 'uploaded'; mxc: string; size: number; mimetype: string }
  | { status: 'unavailable'; reason: MediaUnavailableReason };

/**
 * Why a file has no `mxc://` URI:
 * - `not_in_export`: no body in the archive and no downloadable URL;
 * - `download_disabled`: a URL exists but downloads are off (`allowDownload: false`);
 * - `download_failed`: non-2xx after retries, network error, timeout, truncated body;
 * - `html_instead_of_file`: an HTML page came back instead of the file (expired token);
 * - `too_large`: above `maxUploadBytes` or refused by the homeserver with 413;
 * - `source_stub`: the source only kept a stub (hidden by limit, deleted, external, denied).
 */
export type MediaUnavailableReason =
  | 'not_in_export'
  | 'download_disabled'
  | 'download_failed'
  | 'html_instead_of_file'
  | 'too_large'
  | 'source_stub';

export interface MediaUploadOptions {
  /** Record this user as the uploader (masqueraded); the AS bot when omitted. */
  userId?: UserId;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024;
export const DEFAULT_STREAM_THRESHOLD_BYTES = 8 * 1024 * 1024;
const DOWNLOAD_ATTEMPTS = 3;
const RETRY_DELAY_MS = 1_000;

type Origin = 'archive' | 'download';

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

export class MediaUploader {
  readonly #client: MatrixClient;
  readonly #openArchive: () => Promise<MediaArchive | undefined>;
  readonly #allowDownload: boolean;
  readonly #maxBytes: number;
  readonly #streamThreshold: number;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #logger: Logger;
  readonly #headers: Record<string, string>;
  readonly #headerHosts: RegExp | undefined;
  readonly #sleep: (ms: number) => Promise<void>;
  #archive: Promise<{ reader: MediaArchive; sizes: Map<string, number> } | undefined> | undefined;

  constructor(opts: MediaUploaderOptions) {
    this.#client = opts.client;
    this.#openArchive = opts.openArchive;
    this.#allowDownload = opts.allowDownload ?? false;
    this.#maxBytes = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.#streamThreshold = opts.streamThresholdBytes ?? DEFAULT_STREAM_THRESHOLD_BYTES;
    this.#timeoutMs = opts.downloadTimeoutMs ?? 60_000;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#logger = opts.logger ?? silentLogger;
    this.#headers = { ...opts.downloadHeaders };
    this.#headerHosts = opts.downloadHeaderHosts;
    this.#sleep = opts.sleep ?? defaultSleep;
  }

  /** Uploads `media`'s body, or says why it cannot; see the module comment for the rules. */
  async upload(media: MediaRecord, options: MediaUploadOptions = {}): Promise<MediaUploadResult> {
    if (media.availability !== 'available') return unavailable('source_stub');
    if (media.size !== undefined && media.size > this.#maxBytes) {
      this.#logger.info({ media: media.key, size: media.size }, 'media too large to upload');
      return unavailable('too_large');
    }
    if (media.localPath !== undefined) {
      const result = await this.#fromArchive(media, media.localPath, options);
      if (result !== undefined) return result;
    }
    const url = media.remoteUrl;
    if (url === undefined || !/^https?:\/\//i.test(url)) return unavailable('not_in_export');
    if (!this.#allowDownload) return unavailable('download_disabled');
    return this.#fromDownload(media, url, options);
  }

  /** `undefined` when the entry is not in the archive (the caller falls back to the URL). */
  async #fromArchive(
    media: MediaRecord,
    localPath: string,
    options: MediaUploadOptions,
  ): Promise<MediaUploadResult | undefined> {
    const archive = await this.#archiveIndex();
    const path = localPath.normalize('NFC');
    const size = archive?.sizes.get(path);
    if (archive === undefined || size === undefined) {
      this.#logger.warn({ media: media.key, path }, 'media file missing from the export');
      return undefined;
    }
    const { reader } = archive;
    const mimetype = mimetypeOf(media);
    if (size > this.#maxBytes) return this.#tooLarge(media, size);

    if (size <= this.#streamThreshold) {
      const bytes = await reader.readBuffer(path);
      if (bytes.length > this.#maxBytes) return this.#tooLarge(media, bytes.length);
      if (this.#isHtmlBody(bytes, mimetype)) return this.#html(media, 'archive', path);
      return this.#send(media, bytes, bytes.length, mimetype, 'archive', options);
    }

    if (!isHtmlType(mimetype) && sniffsAsHtml(await readHead(reader, path))) {
      return this.#html(media, 'archive', path);
    }
    const body = (): AsyncIterable<Uint8Array> => streamEntry(reader, path, size);
    return this.#send(media, body, size, mimetype, 'archive', options);
  }

  /** Credentials go only to the hosts they are meant for. */
  #headersFor(url: string): Record<string, string> {
    if (this.#headerHosts === undefined) return this.#headers;
    try {
      return this.#headerHosts.test(new URL(url).hostname) ? this.#headers : {};
    } catch {
      return {};
    }
  }

  async #fromDownload(
    media: MediaRecord,
    url: string,
    options: MediaUploadOptions,
  ): Promise<MediaUploadResult> {
    const expectedType = mimetypeOf(media);
    const got = await download(url, {
      fetch: this.#fetch,
      headers: this.#headersFor(url),
      expectedType,
      maxBytes: this.#maxBytes,
      streamThresholdBytes: this.#streamThreshold,
      idleTimeoutMs: this.#timeoutMs,
      attempts: DOWNLOAD_ATTEMPTS,
      retryDelayMs: RETRY_DELAY_MS,
      sleep: this.#sleep,
    });
    switch (got.kind) {
      case 'failed':
        this.#logger.warn(
          { media: media.key, url: redactUrl(url), status: got.status, detail: got.detail },
          `media download: ${got.reason}`,
        );
        return unavailable(got.reason);
      case 'bytes': {
        const mimetype = mimetypeOf(media, got.contentType);
        return this.#send(media, got.bytes, got.bytes.length, mimetype, 'download', options);
      }
      case 'stream': {
        const mimetype = mimetypeOf(media, got.contentType);
        try {
          return await this.#send(media, got.body, got.size, mimetype, 'download', options);
        } catch (error) {
          const failure = got.failure();
          if (failure === undefined) throw error;
          this.#logger.warn(
            { media: media.key, url: redactUrl(url), detail: failure },
            'media download: download_failed',
          );
          return unavailable('download_failed');
        } finally {
          await got.release();
        }
      }
    }
  }

  async #send(
    media: MediaRecord,
    body: UploadBody,
    size: number,
    mimetype: string,
    origin: Origin,
    options: MediaUploadOptions,
  ): Promise<MediaUploadResult> {
    const filename = media.name ?? basename(media.localPath);
    let mxc: string;
    try {
      mxc = await this.#client.upload(body, {
        contentType: mimetype,
        size,
        ...(filename === undefined ? {} : { filename }),
        ...(options.userId === undefined ? {} : { userId: options.userId }),
      });
    } catch (error) {
      if (isStatus(error, 413)) return this.#tooLarge(media, size);
      throw error;
    }
    this.#logger.info({ media: media.key, size, mimetype, origin, mxc }, 'media uploaded');
    return { status: 'uploaded', mxc, size, mimetype };
  }

  #isHtmlBody(bytes: Uint8Array, mimetype: string): boolean {
    return !isHtmlType(mimetype) && sniffsAsHtml(bytes);
  }

  #tooLarge(media: MediaRecord, size: number): MediaUploadResult {
    this.#logger.info(
      { media: media.key, size, maxUploadBytes: this.#maxBytes },
      'media too large to upload',
    );
    return unavailable('too_large');
  }

  #html(media: MediaRecord, origin: Origin, path: string): MediaUploadResult {
    this.#logger.warn({ media: media.key, origin, path }, 'media body is an HTML page');
    return unavailable('html_instead_of_file');
  }

  /** Opens the archive once and indexes entry sizes by path (entries() is a list). */
  #archiveIndex(): Promise<{ reader: MediaArchive; sizes: Map<string, number> } | undefined> {
    this.#archive ??= this.#openArchive().then(
      (reader) =>
        reader && {
          reader,
          sizes: new Map(reader.entries().map((e) => [e.path, e.size] as const)),
        },
      (error: unknown) => {
        this.#archive = undefined; // let the next record try again
        throw error;
      },
    );
    return this.#archive;
  }
}

function unavailable(reason: MediaUnavailableReason): MediaUploadResult {
  return { status: 'unavailable', reason };
}

/** The record's type, else a guess from its name, else what the server said, else octet-stream. */
function mimetypeOf(media: MediaRecord, served?: string): string {
  const declared = media.mimetype?.trim();
  if (declared !== undefined && declared !== '') return declared;
  const guessed = guessMimetype(media.name ?? media.localPath);
  if (guessed !== 'application/octet-stream') return guessed;
  const type = mediaTypeOf(served);
  return type !== undefined && !isHtmlType(type) ? type : guessed;
}

function basename(path: string | undefined): string | undefined {
  const name = path?.split('/').pop();
  return name === undefined || name === '' ? undefined : name;
}

function toBytes(chunk: string | Buffer | Uint8Array): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/** The first `SNIFF_BYTES` (or fewer) of an entry; the stream is destroyed afterwards. */
async function readHead(reader: MediaArchive, path: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of await reader.openStream(path)) {
    const bytes = toBytes(chunk);
    chunks.push(bytes);
    total += bytes.length;
    if (total >= SNIFF_BYTES) break; // leaving the loop destroys the stream
  }
  return Buffer.concat(chunks, total);
}

/** The entry as an upload body; fails rather than send a length other than `size`. */
async function* streamEntry(
  reader: MediaArchive,
  path: string,
  size: number,
): AsyncGenerator<Uint8Array> {
  let sent = 0;
  for await (const chunk of await reader.openStream(path)) {
    const bytes = toBytes(chunk);
    sent += bytes.length;
    if (sent > size) throw new Error(`${path}: entry longer than its indexed size ${size}`);
    yield bytes;
  }
  if (sent !== size) throw new Error(`${path}: entry shorter than its indexed size ${size}`);
}
