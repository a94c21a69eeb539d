/**
 * Getting a file's body for `media-uploader.ts`: content-type guessing, "is this an HTML
 * login page?" sniffing, and a bounded, retrying download.
 *
 * Nothing here uploads; nothing here logs. URLs may carry export tokens (`?t=xoxe-…`), so
 * every text this module produces about a download (`DownloadFailure.detail`) has been
 * through `redactText` and never contains the URL itself.
 */
import { describeCause } from './client-errors.js';

// ---- content types ---------------------------------------------------------------------

const OCTET_STREAM = 'application/octet-stream';

const BY_EXTENSION: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  heic: 'image/heic',
  bmp: 'image/bmp',
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
  json: 'application/json',
  xml: 'application/xml',
  zip: 'application/zip',
  gz: 'application/gzip',
  mp4: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
  doc: 'application/msword',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/** A content type from a file name's extension; `application/octet-stream` when unknown. */
export function guessMimetype(name: string | undefined): string {
  const match = /\.([A-Za-z0-9]+)$/.exec(name ?? '');
  const ext = match?.[1]?.toLowerCase();
  return (ext === undefined ? undefined : BY_EXTENSION[ext]) ?? OCTET_STREAM;
}

/** The media type of a `Content-Type` value, lower-cased, without parameters. */
export function mediaTypeOf(contentType: string | null | undefined): string | undefined {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  return type === undefined || type === '' ? undefined : type;
}

export function isHtmlType(contentType: string | null | undefined): boolean {
  const type = mediaTypeOf(contentType);
  return type === 'text/html' || type === 'application/xhtml+xml';
}

/** How many leading bytes `sniffsAsHtml` needs to decide. */
export const SNIFF_BYTES = 512;

const HTML_STARTS = ['<!doctype html', '<html'];

/**
 * True when the body starts (after a UTF-8 BOM and whitespace) with `<!DOCTYPE html` or
 * `<html`, case-insensitively: what Slack sends instead of a file when the token expired.
 */
export function sniffsAsHtml(head: Uint8Array): boolean {
  let i = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) i = 3;
  while (i < head.length && isSpace(head[i] ?? 0)) i++;
  const text = Buffer.from(head.subarray(i, i + 20))
    .toString('latin1')
    .toLowerCase();
  return HTML_STARTS.some((start) => text.startsWith(start));
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0c;
}

// ---- download --------------------------------------------------------------------------

export interface DownloadOptions {
  fetch: typeof fetch;
  headers: Record<string, string>;
  /** Content type the record promises; an HTML answer is only accepted when it is HTML. */
  expectedType: string;
  maxBytes: number;
  /** Known-length bodies above this are streamed instead of buffered. */
  streamThresholdBytes: number;
  /** Aborts when no headers or data arrived for this long. */
  idleTimeoutMs: number;
  attempts: number;
  retryDelayMs: number;
  sleep: (ms: number) => Promise<void>;
}

export type DownloadFailureReason = 'download_failed' | 'html_instead_of_file' | 'too_large';

/** Why a download gave no usable body. `detail` is redacted and never contains the URL. */
export interface DownloadFailure {
  kind: 'failed';
  reason: DownloadFailureReason;
  status?: number;
  detail: string;
}

export type Download =
  | { kind: 'bytes'; bytes: Buffer; contentType: string | undefined }
  /**
   * A one-shot body of exactly `size` bytes (`Content-Length`, identity encoding). It throws
   * if the server sends a different amount. `failure()` tells afterwards whether the
   * *download* broke (redacted detail), so that the caller can tell that from a homeserver
   * failure. Call `release()` when done, whether or not the body was consumed.
   */
  | {
      kind: 'stream';
      size: number;
      body: AsyncIterable<Uint8Array>;
      contentType: string | undefined;
      failure: () => string | undefined;
      release: () => Promise<void>;
    }
  | DownloadFailure;

/** A failure worth another attempt (5xx, 429, network, timeout). */
class Transient extends Error {
  constructor(
    readonly detail: string,
    readonly status?: number,
  ) {
    super(detail);
  }
}

const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** Downloads `url` with bounded retries; see `Download` for what comes back. */
export async function download(url: string, opts: DownloadOptions): Promise<Download> {
  if (!URL.canParse(url)) return failed('download_failed', 'not a valid URL');
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      return await downloadOnce(url, opts);
    } catch (error) {
      const transient = error instanceof Transient ? error : undefined;
      const detail = transient?.detail ?? describeCause(error);
      if (transient === undefined || attempt >= opts.attempts) {
        return { kind: 'failed', reason: 'download_failed', status: transient?.status, detail };
      }
      await opts.sleep(opts.retryDelayMs * 2 ** (attempt - 1));
    }
  }
}

async function downloadOnce(url: string, opts: DownloadOptions): Promise<Download> {
  const timer = new IdleTimer(opts.idleTimeoutMs);
  let handedOver = false;
  try {
    const checked = await checkedResponse(url, opts, timer);
    if (checked.kind === 'failed') return checked;
    const { response, size, contentType } = checked;
    if (response.body === null) return { kind: 'bytes', bytes: Buffer.alloc(0), contentType };
    // undici types the body as ReadableStream<any>; fetch bodies are always bytes.
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const chunks = new ChunkSource(reader, timer);
    if (size !== undefined && size > opts.streamThresholdBytes) {
      const result = await streamedBody(chunks, size, contentType, opts);
      handedOver = result.kind === 'stream';
      return result;
    }
    return await bufferedBody(chunks, contentType, opts);
  } finally {
    if (!handedOver) timer.done();
  }
}

type CheckedResponse =
  | { kind: 'ok'; response: Response; size: number | undefined; contentType: string | undefined }
  | DownloadFailure;

/** The response, unless its status, type or length already rules it out (body discarded then). */
async function checkedResponse(
  url: string,
  opts: DownloadOptions,
  timer: IdleTimer,
): Promise<CheckedResponse> {
  let response: Response;
  try {
    response = await opts.fetch(url, {
      headers: opts.headers,
      redirect: 'follow',
      signal: timer.signal,
    });
  } catch (error) {
    throw new Transient(describeCause(error));
  }
  timer.touch();
  if (!response.ok) {
    await discard(response);
    const detail = `HTTP ${response.status}`;
    if (RETRYABLE_STATUSES.has(response.status)) throw new Transient(detail, response.status);
    return { kind: 'failed', reason: 'download_failed', status: response.status, detail };
  }
  const contentType = response.headers.get('content-type') ?? undefined;
  if (isHtmlType(contentType) && !isHtmlType(opts.expectedType)) {
    await discard(response);
    return failed('html_instead_of_file', `served as ${mediaTypeOf(contentType) ?? ''}`);
  }
  const size = knownLength(response);
  if (size !== undefined && size > opts.maxBytes) {
    await discard(response);
    return failed('too_large', `Content-Length ${size}`);
  }
  return { kind: 'ok', response, size, contentType };
}

/** A body's chunks, each read renewing the idle timer; read errors are transient. */
class ChunkSource {
  constructor(
    readonly reader: ReadableStreamDefaultReader<Uint8Array>,
    readonly timer: IdleTimer,
  ) {}

  async next(): Promise<Uint8Array | undefined> {
    let chunk;
    try {
      chunk = await this.reader.read();
    } catch (error) {
      const { signal } = this.timer;
      throw new Transient(describeCause(signal.aborted ? signal.reason : error));
    }
    this.timer.touch();
    return chunk.done ? undefined : chunk.value;
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(ignore);
  }
}

/**
 * A large body as a stream of exactly `size` bytes, after sniffing its head for an HTML page.
 * The stream owns the timer and the reader from then on (`release`).
 */
async function streamedBody(
  chunks: ChunkSource,
  size: number,
  contentType: string | undefined,
  opts: DownloadOptions,
): Promise<Download> {
  const head: Uint8Array[] = [];
  let headBytes = 0;
  while (headBytes < SNIFF_BYTES) {
    const chunk = await chunks.next();
    if (chunk === undefined) break;
    head.push(chunk);
    headBytes += chunk.length;
  }
  if (sniffsAsHtml(Buffer.concat(head)) && !isHtmlType(opts.expectedType)) {
    await chunks.cancel();
    return failed('html_instead_of_file', 'body is an HTML page');
  }
  let failure: string | undefined;
  const release = async (): Promise<void> => {
    chunks.timer.done();
    await chunks.cancel();
  };
  const body = async function* (): AsyncGenerator<Uint8Array> {
    let sent = 0;
    try {
      for (let chunk: Uint8Array | undefined = head.shift(); ; chunk = head.shift()) {
        chunk ??= await chunks.next();
        if (chunk === undefined) break;
        sent += chunk.length;
        if (sent > size) throw new Error(`body longer than Content-Length ${size}`);
        yield chunk;
      }
      if (sent !== size) throw new Error(`body shorter than Content-Length ${size}`);
    } catch (error) {
      failure ??= error instanceof Transient ? error.detail : describeCause(error);
      throw error;
    } finally {
      await release();
    }
  };
  return { kind: 'stream', size, body: body(), contentType, failure: () => failure, release };
}

/** A body read whole (at most `maxBytes`), unless it turns out to be an HTML page. */
async function bufferedBody(
  chunks: ChunkSource,
  contentType: string | undefined,
  opts: DownloadOptions,
): Promise<Download> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (let chunk = await chunks.next(); chunk !== undefined; chunk = await chunks.next()) {
    total += chunk.length;
    if (total > opts.maxBytes) {
      await chunks.cancel();
      return failed('too_large', `more than ${opts.maxBytes} bytes`);
    }
    parts.push(chunk);
  }
  const bytes = Buffer.concat(parts, total);
  if (sniffsAsHtml(bytes) && !isHtmlType(opts.expectedType)) {
    return failed('html_instead_of_file', 'body is an HTML page');
  }
  return { kind: 'bytes', bytes, contentType };
}

function failed(reason: DownloadFailureReason, detail: string): DownloadFailure {
  return { kind: 'failed', reason, detail };
}

/** `Content-Length` when it is the length `fetch` will deliver (no content-encoding). */
function knownLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding')?.trim().toLowerCase();
  if (encoding !== undefined && encoding !== '' && encoding !== 'identity') return undefined;
  const header = response.headers.get('content-length')?.trim();
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : undefined;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(ignore);
}

const ignore = (): void => undefined;

/** An abort signal that fires after `ms` without progress; `touch()` restarts the clock. */
class IdleTimer {
  readonly #controller = new AbortController();
  readonly #ms: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
    this.touch();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#controller.abort(new Error(`no data for ${this.#ms} ms`));
    }, this.#ms);
    this.#timer.unref();
  }

  done(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
