/**
 * Folder implementation of `ArchiveReader` (contract and policies: archive-reader.ts).
 *
 * The folder is walked once at open. Symlinks are followed only when their real target is
 * inside the real export folder; anything else is skipped with a warning. Each entry remembers
 * the real path of its file, which is opened with O_NOFOLLOW, so a file swapped for a symlink
 * after indexing is refused rather than followed.
 */
import { constants as fsConstants, type Dirent, type Stats } from 'node:fs';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError } from '../errors.js';
import type { ArchiveEntry, ArchiveReader } from './archive.js';
import { errorText, isErrnoCode, type ReaderContext } from './helpers.js';
import { buildIndex, comparePaths, isJunkPath, type IndexedEntry } from './entry-index.js';

const STAT_BATCH = 64;
const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0);

export async function openDirectoryArchive(
  path: string,
  ctx: ReaderContext,
): Promise<ArchiveReader> {
  const { label, logger } = ctx;
  const realRoot = await realpath(path);
  const walk = new FolderWalk(label, logger, realRoot);
  await walk.visit(realRoot, '', new Set([realRoot]));
  const index = buildIndex(walk.files, ctx.rootMarkers, logger);
  logger.debug({ entries: index.entries.length, root: index.root }, 'export folder indexed');
  return new DirectoryArchiveReader(label, index.entries, index.byPath);
}

/** A file found by the walk; `size` is known already for symlink targets. */
interface FoundFile {
  rel: string;
  abs: string;
  size?: number;
}

/** The recursive listing of an export folder (symlinks followed only inside it). */
class FolderWalk {
  /** NFC path relative to the folder → size and real absolute path. */
  readonly files = new Map<string, { size: number; ref: string }>();
  private readonly rootPrefix: string;

  constructor(
    private readonly label: string,
    private readonly logger: ReaderContext['logger'],
    private readonly realRoot: string,
  ) {
    this.rootPrefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  }

  /** `ancestors`: real paths of the folders being visited, to cut symlink cycles. */
  async visit(realDir: string, rel: string, ancestors: Set<string>): Promise<void> {
    let dirents: Dirent[];
    try {
      dirents = await readdir(realDir, { withFileTypes: true });
    } catch (e) {
      const folder = rel === '' ? '.' : rel;
      throw new FerryError(
        'input_invalid',
        `${this.label}: cannot read folder ${folder} (${errorText(e)})`,
        {
          cause: e,
        },
      );
    }
    dirents.sort((a, b) => comparePaths(a.name, b.name));
    const found: FoundFile[] = [];
    for (const d of dirents) {
      const childRel = rel === '' ? d.name.normalize('NFC') : `${rel}/${d.name.normalize('NFC')}`;
      if (isJunkPath(childRel)) continue;
      const abs = join(realDir, d.name);
      if (d.isSymbolicLink()) await this.visitLink(abs, childRel, ancestors, found);
      else if (d.isDirectory()) await this.visit(abs, childRel, new Set(ancestors).add(abs));
      else if (d.isFile()) found.push({ rel: childRel, abs });
      // Sockets, FIFOs and devices are not export content.
    }
    for (let i = 0; i < found.length; i += STAT_BATCH) {
      const batch = found.slice(i, i + STAT_BATCH);
      const sizes = await Promise.all(
        batch.map(async (f) => f.size ?? (await this.statOrFail(f.abs, f.rel)).size),
      );
      batch.forEach((f, j) => this.addFile(f.rel, f.abs, sizes[j] ?? 0));
    }
  }

  /** A link is followed when its real target is inside the export folder and not a parent. */
  private async visitLink(
    abs: string,
    rel: string,
    ancestors: Set<string>,
    found: FoundFile[],
  ): Promise<void> {
    let target: string;
    try {
      target = await realpath(abs);
    } catch {
      this.logger.warn({ entry: rel }, 'skipping dangling symbolic link');
      return;
    }
    if (target !== this.realRoot && !target.startsWith(this.rootPrefix)) {
      this.logger.warn(
        { entry: rel },
        'skipping symbolic link that points outside the export folder',
      );
      return;
    }
    const st = await this.statOrFail(target, rel);
    if (st.isDirectory()) {
      if (ancestors.has(target)) {
        this.logger.warn(
          { entry: rel },
          'skipping symbolic link that loops back to a parent folder',
        );
        return;
      }
      await this.visit(target, rel, new Set(ancestors).add(target));
    } else if (st.isFile()) {
      found.push({ rel, abs: target, size: st.size });
    }
  }

  private addFile(rel: string, abs: string, size: number): void {
    if (isJunkPath(rel)) return;
    if (this.files.has(rel)) {
      this.logger.warn(
        { entry: rel },
        'two files have the same name after Unicode normalisation; using the first',
      );
      return;
    }
    this.files.set(rel, { size, ref: abs });
  }

  private async statOrFail(abs: string, rel: string): Promise<Stats> {
    try {
      return await stat(abs);
    } catch (e) {
      throw new FerryError('input_invalid', `${this.label}: cannot read ${rel} (${errorText(e)})`, {
        cause: e,
      });
    }
  }
}

class DirectoryArchiveReader implements ArchiveReader {
  private closed = false;
  private readonly streams = new Set<Readable>();

  constructor(
    readonly label: string,
    private readonly list: readonly ArchiveEntry[],
    private readonly byPath: Map<string, IndexedEntry<string>>,
  ) {}

  entries(): readonly ArchiveEntry[] {
    return this.list;
  }

  has(path: string): boolean {
    return this.byPath.has(path.normalize('NFC'));
  }

  async readBuffer(path: string): Promise<Buffer> {
    const item = this.lookup(path);
    const handle = await this.openFile(item);
    try {
      return await handle.readFile();
    } catch (e) {
      throw this.unreadable(item.entry.path, e);
    } finally {
      await handle.close();
    }
  }

  async openStream(path: string): Promise<NodeJS.ReadableStream> {
    const item = this.lookup(path);
    const handle = await this.openFile(item);
    if (this.closed) {
      await handle.close();
      throw closedError(this.label);
    }
    const stream = handle.createReadStream();
    this.streams.add(stream);
    stream.on('close', () => this.streams.delete(stream));
    return stream;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const s of this.streams) s.destroy();
    return Promise.resolve();
  }

  private lookup(path: string): IndexedEntry<string> {
    if (this.closed) throw closedError(this.label);
    const item = this.byPath.get(path.normalize('NFC'));
    if (item === undefined) {
      throw new FerryError('input_not_found', `${this.label}: entry ${path} not found`);
    }
    return item;
  }

  private async openFile(item: IndexedEntry<string>): Promise<FileHandle> {
    try {
      return await open(item.ref, OPEN_FLAGS);
    } catch (e) {
      if (isErrnoCode(e, 'ENOENT')) {
        throw new FerryError(
          'input_not_found',
          `${this.label}: entry ${item.entry.path} has disappeared`,
          { cause: e },
        );
      }
      throw this.unreadable(item.entry.path, e);
    }
  }

  private unreadable(path: string, cause: unknown): FerryError {
    return new FerryError(
      'input_invalid',
      `${this.label}: entry ${path} cannot be read (${errorText(cause)})`,
      { cause },
    );
  }
}

function closedError(label: string): Error {
  return new Error(`${label}: archive reader is closed`);
}
