/**
 * The file backend yauzl reads the zip through (used instead of `yauzl.open`'s built-in one).
 *
 * Why not yauzl's own `fd-slicer`: in yauzl 3.4.0 a read stream destroyed while its read is
 * still queued crashes the process (`TypeError: Cannot read properties of null (reading
 * 'fd')` in fd-slicer.js, thrown from a callback, so it cannot be caught). That happens as
 * soon as a consumer stops reading one entry while another is being read, or when `close()`
 * destroys open streams. Node's own `fs.ReadStream` over the shared fd (`autoClose: false`)
 * (with a no-op `close`, as the fd is shared) has no such problem.
 *
 * Also: while the central directory is being indexed (`buffered`), small reads are served
 * from 256 KiB blocks, which makes opening a 100k-entry zip several times faster than one
 * `fs.read` per header.
 *
 * The fd is closed only after every stream this backend created has closed, so an
 * abandoned read never runs on a closed (or reused) descriptor.
 */
import { close, createReadStream, fstat, open, read } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import yauzl from 'yauzl';

const BLOCK = 256 * 1024;
const keepOpen = (_fd: number, callback: (err: null) => void): void => callback(null);
const EMPTY = Buffer.alloc(0);

type ReadCallback = (err: Error | null, bytesRead?: number) => void;

export class FdReader extends yauzl.RandomAccessReader {
  /** Serve small reads from a block cache; switched off by `unbuffer()` once indexed. */
  private buffered = true;
  private cache = EMPTY;
  private cacheStart = 0;
  /** Streams and reads in flight; the fd is closed only when this drops to 0. */
  private busy = 0;
  private onIdle: (() => void) | undefined;
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly size: number,
  ) {
    super();
  }

  static async open(path: string): Promise<FdReader> {
    const fd = await promisify(open)(path, 'r');
    try {
      const st = await promisify(fstat)(fd);
      return new FdReader(fd, st.size);
    } catch (e) {
      close(fd, () => undefined);
      throw e;
    }
  }

  override _readStreamForRange(start: number, end: number): Readable {
    // yauzl destroys this stream when done, and fs.ReadStream's destroy closes its fd even with
    // `autoClose: false`; the shared fd must outlive it, so the stream's `close` is a no-op.
    // fs.ReadStream waits for a read in flight before emitting 'close'.
    const stream = createReadStream('', {
      fd: this.fd,
      start,
      end: end - 1,
      fs: { read, close: keepOpen },
    });
    this.busy++;
    stream.once('close', () => this.done());
    return stream;
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    // yauzl reads a second `bytesRead` argument, which the typings leave out.
    cb: ReadCallback,
  ): void {
    const at = position - this.cacheStart;
    if (this.buffered && at >= 0 && at + length <= this.cache.length) {
      this.cache.copy(buffer, offset, at, at + length);
      process.nextTick(() => cb(null, length));
      return;
    }
    this.busy++;
    if (!this.buffered || length >= BLOCK) {
      read(this.fd, buffer, offset, length, position, (err, n) => {
        this.done();
        cb(err, n);
      });
      return;
    }
    const block = Buffer.allocUnsafe(BLOCK);
    read(this.fd, block, 0, BLOCK, position, (err, n) => {
      this.done();
      if (err) return cb(err);
      if (this.buffered) {
        this.cache = block.subarray(0, n);
        this.cacheStart = position;
      }
      const copied = block.copy(buffer, offset, 0, Math.min(length, n));
      cb(null, copied);
    });
  }

  /**
   * Fills `buffer` from `position` (one entry's bytes, read outside yauzl's streams). Rejects at
   * the end of the file, which means the archive is truncated.
   */
  readFully(buffer: Buffer, position: number): Promise<void> {
    return new Promise((resolve, reject) => {
      let filled = 0;
      const step = (err: Error | null, n?: number): void => {
        if (err !== null) return reject(err);
        filled += n ?? 0;
        if (filled >= buffer.length) return resolve();
        if ((n ?? 0) === 0) return reject(new Error('unexpected end of file'));
        this.read(buffer, filled, buffer.length - filled, position + filled, step);
      };
      if (buffer.length === 0) resolve();
      else this.read(buffer, 0, buffer.length, position, step);
    });
  }

  /** Stop buffering and drop the cache. */
  unbuffer(): void {
    this.buffered = false;
    this.cache = EMPTY;
  }

  /** Called by yauzl when its last reference goes away. */
  override close(callback: (err: Error | null) => void): void {
    this.unbuffer();
    const finish = (): void => {
      if (this.closed) return callback(null);
      this.closed = true;
      close(this.fd, (err) => callback(err));
    };
    if (this.busy === 0) finish();
    else this.onIdle = finish;
  }

  /** Closes the fd when yauzl never took ownership (it failed to open the zip). */
  closeUnowned(): Promise<void> {
    return new Promise((resolve) => this.close(() => resolve()));
  }

  private done(): void {
    this.busy--;
    if (this.busy === 0 && this.onIdle !== undefined) {
      const idle = this.onIdle;
      this.onIdle = undefined;
      idle();
    }
  }
}
