import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../src/matrix/client.js';
import { guessMimetype, sniffsAsHtml } from '../../src/matrix/media-body.js';
import {
  MediaUploader,
  type MediaUploaderOptions,
  type MediaUploadResult,
} from '../../src/matrix/media-uploader.js';
import type { MediaRecord } from '../../src/model/entities.js';
import { mediaKey, type SourceKey } from '../../src/model/ids.js';
import { openArchive, type ArchiveReader } from '../../src/archive/archive-reader.js';
import { FakeHomeserver } from '../support/fake-homeserver.js';
import { recordingLogger, type LogEntry } from '../support/recording-logger.js';

// ---- helpers -----------------------------------------------------------------------------

const SECRET = 'xoxe-1-SECRET-export-token';
const SLACK_TOKEN = 'xoxb-slack-bot-TOKEN';

const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  randomBytes(2_000),
]);
const BIG = randomBytes(100_000);
const LOGIN_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Slack</title></head><body>Sign in</body></html>';

let media = 0;
function record(overrides: Partial<MediaRecord> = {}): MediaRecord {
  media++;
  return {
    key: mediaKey(`slack:F${media}`),
    source: 'slack:T1' as SourceKey,
    nativeId: `F${media}`,
    availability: 'available',
    ...overrides,
  };
}

// ---- download server ---------------------------------------------------------------------

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
}

type Route = (res: ServerResponse, attempt: number) => void;

let server: http.Server;
let base: string;
const seen: Seen[] = [];
const routes = new Map<string, Route>();

function route(path: string, handler: Route): string {
  routes.set(path, handler);
  return `${base}${path}?t=${SECRET}`;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    seen.push({ url, headers: req.headers });
    const path = url.split('?')[0] ?? '';
    const handler = routes.get(path);
    if (handler === undefined) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    handler(res, seen.filter((s) => s.url.split('?')[0] === path).length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function serve(body: Buffer | string, headers: Record<string, string | number> = {}): Route {
  return (res) => {
    res.writeHead(200, { 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
}

/** Chunked (no Content-Length) body written in pieces. */
function serveChunked(body: Buffer, contentType = 'application/octet-stream'): Route {
  return (res) => {
    res.writeHead(200, { 'content-type': contentType });
    for (let i = 0; i < body.length; i += 1_000) res.write(body.subarray(i, i + 1_000));
    res.end();
  };
}

// ---- export folder and homeserver --------------------------------------------------------

let tmp: string;
let archive: ArchiveReader;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'ferry-media-'));
  const files: Record<string, Buffer | string> = {
    'channels.json': '[]',
    'users.json': '[]',
    '__uploads/F1/a.png': PNG,
    '__uploads/F2/big.bin': BIG,
    '__uploads/F3/spec.pdf': `\ufeff  ${LOGIN_PAGE}`,
    '__uploads/F4/big-page.pdf': LOGIN_PAGE + ' '.repeat(100_000),
    '__uploads/F5/page.html': LOGIN_PAGE,
  };
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(dirname(join(tmp, rel)), { recursive: true });
    await writeFile(join(tmp, rel), data);
  }
  archive = await openArchive(tmp);
});

afterAll(async () => {
  await archive.close();
  await rm(tmp, { recursive: true, force: true });
});

let fake: FakeHomeserver;
let client: MatrixClient;
let logs: LogEntry[];
let sleeps: number[];
let fetches: number;
let archiveOpens: number;

beforeEach(async () => {
  fake = new FakeHomeserver({ maxUploadBytes: 1_000_000 });
  await fake.start();
  client = new MatrixClient({
    baseUrl: fake.baseUrl,
    asToken: fake.asToken,
    serverName: fake.serverName,
    retry: { maxAttempts: 1 },
  });
  logs = [];
  sleeps = [];
  fetches = 0;
  archiveOpens = 0;
  seen.length = 0;
  routes.clear();
});

afterEach(async () => {
  await fake.stop();
  // No log line ever carries the export token or the download credentials.
  const text = JSON.stringify(logs);
  expect(text).not.toContain('xoxe');
  expect(text).not.toContain('SECRET');
  expect(text).not.toContain(SLACK_TOKEN);
});

function uploader(overrides: Partial<MediaUploaderOptions> = {}): MediaUploader {
  return new MediaUploader({
    client,
    openArchive: () => {
      archiveOpens++;
      return Promise.resolve(archive);
    },
    allowDownload: true,
    maxUploadBytes: 500_000,
    logger: recordingLogger(logs),
    downloadHeaders: { Authorization: `Bearer ${SLACK_TOKEN}` },
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    fetch: (input, init) => {
      fetches++;
      return fetch(input, init);
    },
    ...overrides,
  });
}

/** The fake's copy of an uploaded file. */
function stored(result: MediaUploadResult) {
  if (result.status !== 'uploaded') throw new Error(`not uploaded: ${result.reason}`);
  const mediaId = result.mxc.split('/').pop() ?? '';
  const item = fake.media.get(mediaId);
  if (item === undefined) throw new Error(`fake has no ${result.mxc}`);
  return item;
}

/** Records whether each upload body was bytes or a stream. */
function spyUploads(): string[] {
  const kinds: string[] = [];
  const original = client.upload.bind(client);
  client.upload = (body, options) => {
    kinds.push(body instanceof Uint8Array ? 'bytes' : 'stream');
    return original(body, options);
  };
  return kinds;
}

const uploads = (): number => fake.requests.filter((r) => r.path.includes('/upload')).length;

// ---- tests -------------------------------------------------------------------------------

describe('bodies from the export archive', () => {
  it('uploads the entry with identical bytes, the record type and its name', async () => {
    const result = await uploader().upload(
      record({ name: 'a.png', mimetype: 'image/png', localPath: '__uploads/F1/a.png' }),
    );
    expect(result).toMatchObject({ status: 'uploaded', size: PNG.length, mimetype: 'image/png' });
    const item = stored(result);
    expect(item.bytes.equals(PNG)).toBe(true);
    expect(item.contentType).toBe('image/png');
    expect(item.filename).toBe('a.png');
    expect(fetches).toBe(0);
    expect(logs.some((l) => l.level === 'info' && l.msg === 'media uploaded')).toBe(true);
  });

  it('guesses the type from the extension when the record has none', async () => {
    const result = await uploader().upload(record({ localPath: '__uploads/F1/a.png' }));
    expect(result).toMatchObject({ status: 'uploaded', mimetype: 'image/png' });
    expect(stored(result).filename).toBe('a.png');
  });

  it('streams entries above the threshold', async () => {
    const kinds = spyUploads();
    const result = await uploader({ streamThresholdBytes: 10_000 }).upload(
      record({ name: 'big.bin', localPath: '__uploads/F2/big.bin' }),
    );
    expect(result).toMatchObject({ status: 'uploaded', size: BIG.length });
    const item = stored(result);
    expect(item.bytes.equals(BIG)).toBe(true);
    expect(item.contentType).toBe('application/octet-stream');
    expect(kinds).toEqual(['stream']);
  });

  it('opens the archive once for many records', async () => {
    const up = uploader();
    await up.upload(record({ localPath: '__uploads/F1/a.png' }));
    await up.upload(record({ localPath: '__uploads/F1/a.png' }));
    expect(archiveOpens).toBe(1);
  });

  it('refuses an HTML page stored under a non-HTML type (BOM and spaces before it)', async () => {
    const up = uploader({ streamThresholdBytes: 10_000 });
    const small = await up.upload(
      record({ name: 'spec.pdf', mimetype: 'application/pdf', localPath: '__uploads/F3/spec.pdf' }),
    );
    const big = await up.upload(
      record({ name: 'big-page.pdf', localPath: '__uploads/F4/big-page.pdf' }),
    );
    expect(small).toEqual({ status: 'unavailable', reason: 'html_instead_of_file' });
    expect(big).toEqual({ status: 'unavailable', reason: 'html_instead_of_file' });
    expect(uploads()).toBe(0);
  });

  it('uploads real HTML files', async () => {
    const result = await uploader().upload(
      record({ name: 'page.html', localPath: '__uploads/F5/page.html' }),
    );
    expect(result).toMatchObject({ status: 'uploaded', mimetype: 'text/html' });
  });

  it('an entry that is too large is not read', async () => {
    const result = await uploader({ maxUploadBytes: 50_000 }).upload(
      record({ localPath: '__uploads/F2/big.bin' }),
    );
    expect(result).toEqual({ status: 'unavailable', reason: 'too_large' });
    expect(uploads()).toBe(0);
  });

  it('a missing entry without a URL is not_in_export; with one it falls back to the URL', async () => {
    const missing = await uploader().upload(record({ localPath: '__uploads/F9/gone.png' }));
    expect(missing).toEqual({ status: 'unavailable', reason: 'not_in_export' });

    const url = route('/fallback.png', serve(PNG));
    const fallback = await uploader().upload(
      record({ localPath: '__uploads/F9/gone.png', remoteUrl: url }),
    );
    expect(fallback).toMatchObject({ status: 'uploaded', mimetype: 'image/png' });
  });

  it('no archive at all is not_in_export', async () => {
    const result = await uploader({ openArchive: () => Promise.resolve(undefined) }).upload(
      record({ localPath: '__uploads/F1/a.png' }),
    );
    expect(result).toEqual({ status: 'unavailable', reason: 'not_in_export' });
  });
});

describe('no I/O cases', () => {
  it.each(['hidden_by_limit', 'tombstone', 'external', 'access_denied'] as const)(
    '%s → source_stub',
    async (availability) => {
      const url = route('/stub', serve(PNG));
      const result = await uploader().upload(
        record({ availability, localPath: '__uploads/F1/a.png', remoteUrl: url }),
      );
      expect(result).toEqual({ status: 'unavailable', reason: 'source_stub' });
      expect(fetches + archiveOpens + seen.length + fake.requests.length).toBe(0);
    },
  );

  it('download disabled', async () => {
    const url = route('/file.png', serve(PNG));
    const result = await uploader({ allowDownload: false }).upload(record({ remoteUrl: url }));
    expect(result).toEqual({ status: 'unavailable', reason: 'download_disabled' });
    expect(fetches + seen.length).toBe(0);
  });

  it('too large by record.size', async () => {
    const url = route('/file.bin', serve(BIG));
    const result = await uploader({ maxUploadBytes: 1_000 }).upload(
      record({ size: 100_000, remoteUrl: url, localPath: '__uploads/F2/big.bin' }),
    );
    expect(result).toEqual({ status: 'unavailable', reason: 'too_large' });
    expect(fetches + archiveOpens + seen.length).toBe(0);
  });

  it('no URL and no local path', async () => {
    const result = await uploader().upload(record({}));
    expect(result).toEqual({ status: 'unavailable', reason: 'not_in_export' });
  });
});

describe('downloads', () => {
  it('downloads with the configured headers and uploads the body', async () => {
    const url = route(
      '/files-pri/T1-F1/download/a.png',
      serve(PNG, { 'content-type': 'image/png' }),
    );
    const result = await uploader().upload(record({ name: 'a.png', remoteUrl: url }));
    expect(result).toMatchObject({ status: 'uploaded', size: PNG.length, mimetype: 'image/png' });
    expect(stored(result).bytes.equals(PNG)).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.headers.authorization).toBe(`Bearer ${SLACK_TOKEN}`);
    expect(seen[0]?.url).toContain(`t=${SECRET}`);
  });

  it('sends the headers only to the hosts they are meant for', async () => {
    const url = route('/elsewhere/a.png', serve(PNG, { 'content-type': 'image/png' }));
    const slackOnly = uploader({ downloadHeaderHosts: /(^|\.)slack\.com$/ });
    const result = await slackOnly.upload(record({ name: 'a.png', remoteUrl: url }));
    expect(result).toMatchObject({ status: 'uploaded' });
    expect(seen[0]?.headers.authorization).toBeUndefined();
    const loopback = uploader({ downloadHeaderHosts: /^127\.0\.0\.1$/ });
    await loopback.upload(record({ name: 'b.png', remoteUrl: url }));
    expect(seen[1]?.headers.authorization).toBe(`Bearer ${SLACK_TOKEN}`);
  });

  it('takes the served type when neither the record nor the name tells', async () => {
    const url = route('/blob', serve(PNG, { 'content-type': 'image/webp' }));
    const result = await uploader().upload(record({ remoteUrl: url }));
    expect(result).toMatchObject({ status: 'uploaded', mimetype: 'image/webp' });
  });

  it('follows redirects', async () => {
    const target = route('/real.png', serve(PNG));
    const url = route('/redirect', (res) => {
      res.writeHead(302, { location: target });
      res.end();
    });
    const result = await uploader().upload(record({ name: 'a.png', remoteUrl: url }));
    expect(stored(result).bytes.equals(PNG)).toBe(true);
  });

  it('streams a large body of known length', async () => {
    const kinds = spyUploads();
    const url = route('/big.bin', serve(BIG));
    const result = await uploader({ streamThresholdBytes: 10_000 }).upload(
      record({ name: 'big.bin', remoteUrl: url }),
    );
    expect(result).toMatchObject({ status: 'uploaded', size: BIG.length });
    expect(stored(result).bytes.equals(BIG)).toBe(true);
    expect(kinds).toEqual(['stream']);
  });

  it('404 → download_failed without retrying', async () => {
    const url = `${base}/missing?t=${SECRET}`;
    const result = await uploader().upload(record({ remoteUrl: url }));
    expect(result).toEqual({ status: 'unavailable', reason: 'download_failed' });
    expect(seen).toHaveLength(1);
    const warning = logs.find((l) => l.level === 'warn');
    expect(JSON.stringify(warning)).toContain('/missing?t=REDACTED');
  });

  it('retries 5xx and succeeds on the third attempt', async () => {
    const url = route('/flaky.png', (res, attempt) => {
      if (attempt < 3) {
        res.statusCode = 503;
        res.end('busy');
      } else serve(PNG)(res, attempt);
    });
    const result = await uploader().upload(record({ name: 'a.png', remoteUrl: url }));
    expect(result.status).toBe('uploaded');
    expect(seen).toHaveLength(3);
    expect(sleeps).toEqual([1_000, 2_000]);
  });

  it('gives up after 3 attempts', async () => {
    const url = route('/down', (res) => {
      res.statusCode = 502;
      res.end();
    });
    const result = await uploader().upload(record({ remoteUrl: url }));
    expect(result).toEqual({ status: 'unavailable', reason: 'download_failed' });
    expect(seen).toHaveLength(3);
  });

  it('network errors are download_failed and never leak the URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const up = uploader();
    expect(
      await up.upload(record({ remoteUrl: `http://127.0.0.1:${port}/f?t=${SECRET}` })),
    ).toEqual({ status: 'unavailable', reason: 'download_failed' });
    // Not even tried: undici would repeat an unparseable URL in its error message.
    expect(await up.upload(record({ remoteUrl: `http://[bad/f?t=${SECRET}` }))).toEqual({
      status: 'unavailable',
      reason: 'download_failed',
    });
    expect(fetches).toBe(3);
    const warnings = logs.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(2);
    expect(JSON.stringify(warnings)).toContain('t=REDACTED');
  });

  it('a stalled server times out', async () => {
    const url = route('/stall', (res) => {
      res.writeHead(200, { 'content-length': 10 });
      res.write('12345');
    });
    const result = await uploader({ downloadTimeoutMs: 200 }).upload(record({ remoteUrl: url }));
    expect(result).toEqual({ status: 'unavailable', reason: 'download_failed' });
  });

  it('a truncated streamed body is download_failed, not a homeserver error', async () => {
    const url = route('/cut.bin', (res) => {
      res.writeHead(200, { 'content-length': BIG.length });
      res.write(BIG.subarray(0, 30_000), () => res.destroy());
    });
    const result = await uploader({ streamThresholdBytes: 10_000 }).upload(
      record({ name: 'cut.bin', remoteUrl: url }),
    );
    expect(result).toEqual({ status: 'unavailable', reason: 'download_failed' });
    expect(fake.media.size).toBe(0);
  });
});

describe('HTML instead of the file', () => {
  it('a 200 login page served as text/html', async () => {
    const url = route('/login', serve(LOGIN_PAGE, { 'content-type': 'text/html; charset=utf-8' }));
    const result = await uploader().upload(
      record({ name: 'spec.pdf', mimetype: 'application/pdf', remoteUrl: url }),
    );
    expect(result).toEqual({ status: 'unavailable', reason: 'html_instead_of_file' });
    expect(uploads()).toBe(0);
  });

  it('a login page served as application/octet-stream is sniffed', async () => {
    const page = `\ufeff\r\n  <!doctype HTML>${LOGIN_PAGE}`;
    const url = route('/sneaky', serve(page, { 'content-type': 'application/octet-stream' }));
    const result = await uploader().upload(record({ name: 'spec.pdf', remoteUrl: url }));
    expect(result).toEqual({ status: 'unavailable', reason: 'html_instead_of_file' });
    expect(uploads()).toBe(0);
  });

  it('sniffed in streamed downloads too', async () => {
    const page = LOGIN_PAGE + ' '.repeat(50_000);
    const url = route('/big-page', serve(page, { 'content-type': 'application/octet-stream' }));
    const result = await uploader({ streamThresholdBytes: 10_000 }).upload(
      record({ name: 'video.mp4', remoteUrl: url }),
    );
    expect(result).toEqual({ status: 'unavailable', reason: 'html_instead_of_file' });
  });

  it('an expected HTML file is uploaded', async () => {
    const url = route('/page.html', serve(LOGIN_PAGE, { 'content-type': 'text/html' }));
    const result = await uploader().upload(
      record({ name: 'page.html', mimetype: 'text/html', remoteUrl: url }),
    );
    expect(result).toMatchObject({ status: 'uploaded', mimetype: 'text/html' });
  });
});

describe('size limits', () => {
  it('too large by Content-Length', async () => {
    const url = route('/big.bin', serve(BIG));
    const result = await uploader({ maxUploadBytes: 50_000 }).upload(record({ remoteUrl: url }));
    expect(result).toEqual({ status: 'unavailable', reason: 'too_large' });
    expect(uploads()).toBe(0);
  });

  it('too large by actual bytes (chunked, no Content-Length, no record.size)', async () => {
    const url = route('/chunked.bin', serveChunked(BIG));
    const result = await uploader({ maxUploadBytes: 50_000 }).upload(record({ remoteUrl: url }));
    expect(result).toEqual({ status: 'unavailable', reason: 'too_large' });
    expect(uploads()).toBe(0);
  });

  it('a chunked body under the limit is buffered and uploaded', async () => {
    const kinds = spyUploads();
    const url = route('/chunked-ok.bin', serveChunked(BIG));
    const result = await uploader({ streamThresholdBytes: 10_000 }).upload(
      record({ remoteUrl: url }),
    );
    expect(stored(result).bytes.equals(BIG)).toBe(true);
    expect(kinds).toEqual(['bytes']);
  });

  it('413 M_TOO_LARGE from the homeserver → too_large', async () => {
    await fake.stop();
    fake = new FakeHomeserver({ maxUploadBytes: 1_000 });
    await fake.start();
    client = new MatrixClient({ baseUrl: fake.baseUrl, asToken: fake.asToken });
    const result = await uploader().upload(record({ localPath: '__uploads/F1/a.png' }));
    expect(result).toEqual({ status: 'unavailable', reason: 'too_large' });
  });

  it('other homeserver errors propagate', async () => {
    fake.failNext(1, { status: 500 });
    await expect(uploader().upload(record({ localPath: '__uploads/F1/a.png' }))).rejects.toThrow(
      /Homeserver rejected POST \/_matrix\/media\/v3\/upload: 500/,
    );
  });
});

describe('media-body helpers', () => {
  it('guesses common types', () => {
    expect(guessMimetype('a.JPG')).toBe('image/jpeg');
    expect(guessMimetype('notes.txt')).toBe('text/plain');
    expect(guessMimetype('archive.zip')).toBe('application/zip');
    expect(guessMimetype('noext')).toBe('application/octet-stream');
    expect(guessMimetype(undefined)).toBe('application/octet-stream');
  });

  it('sniffs HTML starts only', () => {
    expect(sniffsAsHtml(Buffer.from('  <HTML lang="en">'))).toBe(true);
    expect(sniffsAsHtml(Buffer.from('\ufeff<!DOCTYPE html>'))).toBe(true);
    expect(sniffsAsHtml(Buffer.from('<?xml version="1.0"?>'))).toBe(false);
    expect(sniffsAsHtml(Buffer.from('hello <html>'))).toBe(false);
    expect(sniffsAsHtml(PNG)).toBe(false);
  });
});
