/**
 * One reader over the two shapes an export arrives in: a zip file or an unzipped folder.
 *
 * Source adapters (Slack, Element) never touch `fs` or `yauzl` directly; they call
 * `openArchive()` and work with paths relative to the *export root*. Both implementations
 * give the same answers for the same content, so an adapter test can use either.
 *
 * Guarantees shared by both implementations:
 *
 * - **Index at open.** The whole listing (zip central directory, or a recursive folder walk)
 *   is read once by `openArchive`. Afterwards `entries()` and `has()` are synchronous and
 *   never touch the disk. Only names, sizes and what is needed to open an entry are kept, so
 *   a 100k-entry export is fine.
 * - **Paths.** Every `ArchiveEntry.path` is relative to the export root, `/`-separated,
 *   NFC-normalised, never absolute and never contains `.` / `..` / empty segments.
 *   `has`/`readBuffer`/`openStream` accept such a path; the argument is NFC-normalised
 *   before lookup, so callers may pass names built from JSON content.
 * - **Order.** `entries()` is sorted by path, comparing UTF-16 code units (not locale
 *   collation), so the same export always yields the same order on every machine.
 * - **Junk.** `__MACOSX/` folders (at any depth) and `.DS_Store` files are skipped silently.
 *   Directories are never entries; an empty folder simply does not appear.
 * - **Export root.** Re-zipped exports often wrap everything in one folder. If none of
 *   `rootMarkers` (default `channels.json`, `users.json`, `org_users.json`) is at the top level
 *   but exactly one top-level folder contains one directly (`wrapper/channels.json`), that
 *   folder becomes the root: entry paths are relative to it and files outside it are dropped
 *   (logged at debug). Only one level of wrapping is unwrapped. In every other case (a marker
 *   at the top, no marker anywhere, two candidate folders) the top level is the root: this
 *   reader never guesses between candidates; the adapter reports what it cannot find.
 * - **Errors** are `FerryError`s whose message names the input (`label`) and, where it
 *   applies, the entry:
 *   - `input_not_found`: the input path does not exist, or a requested entry is not in the
 *     index (`"<label>: entry <path> not found"`);
 *   - `input_unsupported`: the input is neither a folder nor a zip file; an entry is encrypted
 *     or uses a compression method other than stored/deflate;
 *   - `input_invalid`: the zip is unreadable (truncated, bad central directory), an entry
 *     tries to escape the export folder, or an entry's data is corrupt (CRC or size mismatch,
 *     invalid deflate stream), or a file of an unzipped export cannot be read.
 *
 * Zip specifics (see zip-reader.ts):
 * - Entry names are decoded from raw bytes: UTF-8 when the bytes are valid UTF-8, whatever
 *   the UTF-8 flag says (Slack writes UTF-8 names *without* the flag), otherwise CP437; then
 *   NFC. Backslashes are read as `/` (old .NET zips), then the path-safety rules apply.
 * - Path safety: if *any* entry name is absolute (`/x`, `C:…`, `\\server\…`) or has a `..`
 *   segment, the whole archive is rejected at open ("<label>: entry <name> tries to escape
 *   the export folder") and nothing is read. An export that contains such a name was not
 *   produced by Slack or Element, and silently skipping it would hide tampering.
 * - Symlink entries (Unix mode in the external attributes) are skipped with a warning; the
 *   reader never extracts, but a symlink's "content" is a path, not export data.
 * - Duplicate names (same path after decoding and NFC): the last one in the central directory
 *   wins, as with extraction tools; a warning is logged.
 * - Every entry read is checked against the central directory's size (yauzl
 *   `validateEntrySizes`) and CRC-32 (checked here; yauzl does not). One file descriptor is
 *   held from `openArchive` until `close()`, however many entries are read; it is read
 *   through our own yauzl backend (fd-reader.ts), because yauzl 3.4.0's crashes the process
 *   when a stream is destroyed while another entry is being read.
 * - ZIP64 is handled by yauzl. No zip-bomb heuristic here: sizes are trustworthy (validated
 *   while reading), so callers can check `ArchiveEntry.size` before reading.
 *
 * Folder specifics (see directory-reader.ts):
 * - Files are listed recursively. Symlinks are followed only when their real target lies
 *   inside the (real) export folder; links pointing outside it, dangling links and link
 *   cycles are skipped with a warning rather than failing the run (the rest of the export is
 *   still usable, and nothing outside the folder is ever read). Sockets, FIFOs and devices
 *   are skipped.
 * - Names are NFC-normalised (macOS stores NFD); if two names collide after normalisation
 *   the first in sorted order wins, with a warning.
 * - No descriptor is held between calls; each read opens and closes its own.
 *
 * Concurrency: `readBuffer`/`openStream` may be called concurrently or sequentially in a loop
 * over thousands of entries. `close()` destroys streams still open, releases the zip file
 * descriptor and is idempotent; any call after it (other than `close`, `label`, `entries`,
 * `has`) throws a plain `Error` (a programming error, not a user error).
 */
import type { Logger } from '../logger.js';

export interface ArchiveEntry {
  /** Path relative to the export root, '/'-separated, NFC-normalised, never absolute, never containing '..' */
  path: string;
  /** Uncompressed size in bytes (zip: as validated against the data; folder: from stat). */
  size: number;
}

export interface ArchiveReader {
  /** What the user passed, for messages ("export.zip" or a folder). */
  readonly label: string;
  /** All file entries below the detected export root (directories omitted), in a deterministic order (sorted by path). */
  entries(): readonly ArchiveEntry[];
  has(path: string): boolean;
  /** Whole entry as a Buffer (for small/medium files such as one Slack day file); throws FerryError('input_invalid') naming the entry if it is corrupt/truncated. */
  readBuffer(path: string): Promise<Buffer>;
  /**
   * Entry as a Node Readable stream (for big files like users.json or an Element export.json).
   * Opening errors reject the promise; data errors (corruption found while reading) are
   * emitted on the stream as the same `FerryError`s `readBuffer` throws. Consume or destroy
   * every stream you open.
   */
  openStream(path: string): Promise<NodeJS.ReadableStream>;
  /** Releases the zip file descriptor. Idempotent. */
  close(): Promise<void>;
}

export interface OpenArchiveOptions {
  /**
   * File names whose presence marks the export root (see "Export root" above).
   * Defaults to `DEFAULT_ROOT_MARKERS` (Slack); the Element adapter passes e.g. `['export.json']`.
   * An empty list disables wrapper detection.
   */
  rootMarkers?: readonly string[];
  logger?: Logger;
}

/** Slack's: the files at the root of every Slack export. */
export const DEFAULT_ROOT_MARKERS: readonly string[] = [
  'channels.json',
  'users.json',
  'org_users.json',
];
