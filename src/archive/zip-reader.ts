/**
 * Zip implementation of `ArchiveReader` (contract and policies: archive-reader.ts).
 *
 * yauzl reads the central directory once at open (`lazyEntries`, raw name bytes via
 * `decodeStrings: false`, `autoClose: false` so the one descriptor stays open until `close()`),
 * through our own file backend (fd-reader.ts explains why not yauzl's).
 * Entries are opened later by random access from the kept `yauzl.Entry` objects. yauzl
 * validates sizes; the CRC-32 check is ours (`EntryCheck`).
 */
import { constants as bufferConstants } from 'node:buffer';
import { open } from 'node:fs/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { crc32, inflateRaw } from 'node:zlib';
import yauzl from 'yauzl';
import { FerryError } from '../errors.js';
import type { ArchiveEntry, ArchiveReader } from './archive.js';
import { FdReader } from './fd-reader.js';
import { errorText, hasZipSignature, isErrnoCode, type ReaderContext } from './helpers.js';
import {
  buildIndex,
  checkEntryName,
  decodeEntryName,
  isJunkPath,
  printableName,
  type IndexedEntry,
} from './entry-index.js';

export async function openZipArchive(path: string, ctx: ReaderContext): Promise<ArchiveReader> {
  const { label, logger } = ctx;
  const { reader, zipfile } = await openZipFile(path, ctx);
  let listing: ZipListing;
  try {
    listing = await listEntries(zipfile, ctx);
  } catch (e) {
    await closeZipFile(zipfile);
    if (e instanceof FerryError) throw e;
    throw new FerryError(
      'input_invalid',
      `${label}: not a readable zip archive (${errorText(e)})`,
      {
        cause: e,
      },
    );
  }
  reader.unbuffer();
  const index = buildIndex(listing.files, ctx.rootMarkers, logger);
  logger.debug(
    { entries: index.entries.length, skippedJunk: listing.junk, root: index.root },
    'zip archive indexed',
  );
  return new ZipArchiveReader(label, zipfile, reader, index.entries, index.byPath);
}

/** The file descriptor and yauzl over it (lazy entries, names as raw bytes, sizes validated). */
async function openZipFile(
  path: string,
  { label, logger }: ReaderContext,
): Promise<{ reader: FdReader; zipfile: yauzl.ZipFile }> {
  let reader: FdReader;
  try {
    reader = await FdReader.open(path);
  } catch (e) {
    throw await openError(path, label, e);
  }
  let zipfile: yauzl.ZipFile;
  try {
    zipfile = await yauzl.fromRandomAccessReaderPromise(reader, reader.size, {
      lazyEntries: true,
      autoClose: false,
      decodeStrings: false,
      validateEntrySizes: true,
    });
  } catch (e) {
    await reader.closeUnowned();
    throw await openError(path, label, e);
  }
  // yauzl reports errors closing the fd as an 'error' event; without a listener it would crash.
  zipfile.on('error', (err: unknown) => logger.warn({ err }, 'error from zip file'));
  return { reader, zipfile };
}

interface ZipListing {
  files: Map<string, { size: number; ref: yauzl.Entry }>;
  /** `__MACOSX/` and `.DS_Store` entries skipped. */
  junk: number;
}

/** One pass over the central directory; an unsafe name rejects the whole archive. */
async function listEntries(zipfile: yauzl.ZipFile, { label, logger }: ReaderContext) {
  const listing: ZipListing = { files: new Map(), junk: 0 };
  for await (const entry of zipfile.eachEntry()) {
    const name = decodeEntryName(entry.fileNameRaw);
    const check = checkEntryName(name);
    if (check.kind === 'unsafe') {
      throw new FerryError(
        'input_invalid',
        `${label}: entry ${printableName(name)} tries to escape the export folder`,
      );
    }
    if (check.kind === 'directory') continue;
    if (isJunkPath(check.path)) {
      listing.junk++;
      continue;
    }
    if (isSymlink(entry)) {
      logger.warn({ entry: check.path }, 'skipping symbolic link stored in the zip');
      continue;
    }
    if (listing.files.has(check.path)) {
      logger.warn({ entry: check.path }, 'zip has this entry twice; using the last one');
    }
    listing.files.set(check.path, { size: entry.uncompressedSize, ref: slim(entry) });
  }
  return listing;
}

/** Decides between "not a zip" and "a broken zip" from the first bytes of the file. */
async function openError(path: string, label: string, cause: unknown): Promise<FerryError> {
  if (isErrnoCode(cause, 'ENOENT')) {
    return new FerryError('input_not_found', `${label}: no such file or folder`, { cause });
  }
  let head = Buffer.alloc(0);
  try {
    const handle = await open(path, 'r');
    try {
      const buf = Buffer.alloc(4);
      const { bytesRead } = await handle.read(buf, 0, 4, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  } catch (e) {
    return new FerryError('input_invalid', `${label}: cannot be read (${errorText(e)})`, {
      cause: e,
    });
  }
  if (hasZipSignature(head)) {
    return new FerryError(
      'input_invalid',
      `${label}: not a readable zip archive (${errorText(cause)})`,
      { cause },
    );
  }
  return new FerryError('input_unsupported', `${label} is neither a zip file nor a folder`, {
    cause,
  });
}

const EMPTY = Buffer.alloc(0);
const LOCAL_HEADER_SIZE = 30;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const inflate = promisify(inflateRaw);

/**
 * Drops what an indexed entry no longer needs (name and extra-field buffers, parsed extra
 * fields): about 1 KB per entry, 100 MB for a 100k-entry export. Opening an entry later only
 * uses the offsets, sizes, flags and method.
 */
function slim(entry: yauzl.Entry): yauzl.Entry {
  entry.fileNameRaw = EMPTY;
  entry.extraFieldRaw = EMPTY;
  entry.fileCommentRaw = EMPTY;
  entry.extraFields = [];
  entry.fileName = '';
  entry.fileComment = '';
  entry.comment = '';
  return entry;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

function isSymlink(entry: yauzl.Entry): boolean {
  const madeByUnix = entry.versionMadeBy >> 8 === 3;
  return madeByUnix && ((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK;
}

class ZipArchiveReader implements ArchiveReader {
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Opens in flight (yauzl reading a local header); close() waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  /** Streams handed out and not yet closed; close() destroys them. */
  private readonly streams = new Set<Readable>();

  constructor(
    readonly label: string,
    private readonly zipfile: yauzl.ZipFile,
    private readonly file: FdReader,
    private readonly list: readonly ArchiveEntry[],
    private readonly byPath: Map<string, IndexedEntry<yauzl.Entry>>,
  ) {}

  entries(): readonly ArchiveEntry[] {
    return this.list;
  }

  has(path: string): boolean {
    return this.byPath.has(path.normalize('NFC'));
  }

  /**
   * Whole entries (day files) skip yauzl's stream machinery: the compressed bytes are read with
   * one `read`, inflated in one call on libuv's thread pool, then size- and CRC-checked.
   */
  async readBuffer(path: string): Promise<Buffer> {
    const { entry, ref } = this.lookup(path);
    if (entry.size > bufferConstants.MAX_LENGTH) {
      throw new FerryError(
        'input_unsupported',
        `${this.label}: entry ${entry.path} is too large to read into memory`,
      );
    }
    this.checkReadable(entry.path, ref);
    let data: Buffer;
    try {
      const header = Buffer.allocUnsafe(LOCAL_HEADER_SIZE);
      await this.file.readFully(header, ref.relativeOffsetOfLocalHeader);
      if (header.readUInt32LE(0) !== LOCAL_HEADER_SIGNATURE) throw new Error('bad local header');
      const start =
        ref.relativeOffsetOfLocalHeader +
        LOCAL_HEADER_SIZE +
        header.readUInt16LE(26) +
        header.readUInt16LE(28);
      const compressed = Buffer.allocUnsafe(ref.compressedSize);
      await this.file.readFully(compressed, start);
      data =
        ref.compressionMethod === 0
          ? compressed
          : await inflate(compressed, {
              maxOutputLength: Math.max(entry.size, 1),
              // One output chunk for the whole entry: one pass on the thread pool, no concat.
              chunkSize: Math.min(Math.max(entry.size, 64 * 1024), 64 << 20),
            });
    } catch (e) {
      if (this.closed) throw closedError(this.label);
      throw this.corrupt(entry.path, e);
    }
    if (data.length !== entry.size) {
      throw this.corrupt(entry.path, `${data.length} bytes instead of ${entry.size}`);
    }
    if (crc32(data) >>> 0 !== ref.crc32 >>> 0) throw this.corrupt(entry.path, 'CRC-32 mismatch');
    return data;
  }

  async openStream(path: string): Promise<NodeJS.ReadableStream> {
    return this.openEntry(this.lookup(path));
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.pending]);
    for (const s of this.streams) s.destroy();
    await closeZipFile(this.zipfile);
  }

  private lookup(path: string): IndexedEntry<yauzl.Entry> {
    if (this.closed) throw closedError(this.label);
    const item = this.byPath.get(path.normalize('NFC'));
    if (item === undefined) {
      throw new FerryError('input_not_found', `${this.label}: entry ${path} not found`);
    }
    return item;
  }

  private checkReadable(path: string, ref: yauzl.Entry): void {
    if (ref.isEncrypted()) {
      throw new FerryError('input_unsupported', `${this.label}: entry ${path} is encrypted`);
    }
    if (!ref.canDecodeFileData()) {
      throw new FerryError(
        'input_unsupported',
        `${this.label}: entry ${path} uses unsupported compression method ${ref.compressionMethod}`,
      );
    }
  }

  private async openEntry(item: IndexedEntry<yauzl.Entry>): Promise<Readable> {
    const { entry, ref } = item;
    this.checkReadable(entry.path, ref);

    const opening = this.zipfile.openReadStreamPromise(ref);
    this.pending.add(opening);
    let raw: Readable;
    try {
      raw = await opening;
    } catch (e) {
      if (this.closed) throw closedError(this.label);
      throw this.corrupt(entry.path, e);
    } finally {
      this.pending.delete(opening);
    }
    if (this.closed) {
      raw.destroy();
      throw closedError(this.label);
    }

    const checked = new EntryCheck(ref.crc32, entry.size, (reason) =>
      this.corrupt(entry.path, reason),
    );
    this.streams.add(checked);
    raw.on('error', (e: unknown) => checked.destroy(this.corrupt(entry.path, e)));
    checked.on('close', () => {
      this.streams.delete(checked);
      // Release yauzl's stream (and its hold on the fd) when the consumer stops early.
      if (!raw.readableEnded) {
        raw.unpipe(checked);
        raw.destroy();
      }
    });
    raw.pipe(checked);
    return checked;
  }

  private corrupt(path: string, cause: unknown): FerryError {
    if (cause instanceof FerryError) return cause;
    return new FerryError(
      'input_invalid',
      `${this.label}: entry ${path} is corrupt (${errorText(cause)})`,
      { cause },
    );
  }
}

/** Resolves once the fd is really closed, i.e. after every stream has let go of it. */
function closeZipFile(zipfile: yauzl.ZipFile): Promise<void> {
  return new Promise((resolve) => {
    zipfile.once('close', () => resolve());
    zipfile.close();
  });
}

function closedError(label: string): Error {
  return new Error(`${label}: archive reader is closed`);
}

/** Pass-through that checks the byte count and CRC-32 against the central directory. */
class EntryCheck extends Transform {
  private crc = 0;
  private bytes = 0;

  constructor(
    private readonly expectedCrc: number,
    private readonly expectedSize: number,
    private readonly fail: (reason: string) => FerryError,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.crc = crc32(chunk, this.crc);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.bytes !== this.expectedSize) {
      callback(this.fail(`${this.bytes} bytes instead of ${this.expectedSize}`));
    } else if (this.crc >>> 0 !== this.expectedCrc >>> 0) {
      callback(this.fail('CRC-32 mismatch'));
    } else {
      callback();
    }
  }
}
