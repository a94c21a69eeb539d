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
  const rootPrefix = realRoot.endsWith(sep) ? realRoot : realRoot + sep;
  const isInside = (p: string): boolean => p === realRoot || p.startsWith(rootPrefix);

  /** NFC path relative to the folder → size and real absolute path. */
  const files = new Map<string, { size: number; ref: string }>();
  const addFile = (rel: string, abs: string, size: number): void => {
    if (isJunkPath(rel)) return;
    if (files.has(rel)) {
      logger.warn(
        { entry: rel },
        'two files have the same name after Unicode normalisation; using the first',
      );
      return;
    }
    files.set(rel, { size, ref: abs });
  };

  /** `ancestors`: real paths of the folders being visited, to cut symlink cycles. */
  const visit = async (realDir: string, rel: string, ancestors: Set<string>): Promise<void> => {
    let dirents: Dirent[];
    try {
      dirents = await readdir(realDir, { withFileTypes: true });
    } catch (e) {
      throw new FerryError(
        'input_invalid',
        `${label}: cannot read folder ${rel === '' ? '.' : rel} (${errorText(e)})`,
        { cause: e },
      );
    }
    dirents.sort((a, b) => comparePaths(a.name, b.name));

    /** Files of this folder in sorted order; `size` is known already for symlink targets. */
    const found: { rel: string; abs: string; size?: number }[] = [];
    for (const d of dirents) {
      const childRel = rel === '' ? d.name.normalize('NFC') : `${rel}/${d.name.normalize('NFC')}`;
      if (isJunkPath(childRel)) continue;
      const abs = join(realDir, d.name);

      if (d.isSymbolicLink()) {
        let target: string;
        try {
          target = await realpath(abs);
        } catch {
          logger.warn({ entry: childRel }, 'skipping dangling symbolic link');
          continue;
        }
        if (!isInside(target)) {
          logger.warn(
            { entry: childRel },
            'skipping symbolic link that points outside the export folder',
          );
          continue;
        }
        const st = await statOrFail(target, childRel);
        if (st.isDirectory()) {
          if (ancestors.has(target)) {
            logger.warn(
              { entry: childRel },
              'skipping symbolic link that loops back to a parent folder',
            );
            continue;
          }
          await visit(target, childRel, new Set(ancestors).add(target));
        } else if (st.isFile()) {
          found.push({ rel: childRel, abs: target, size: st.size });
        }
      } else if (d.isDirectory()) {
        await visit(abs, childRel, new Set(ancestors).add(abs));
      } else if (d.isFile()) {
        found.push({ rel: childRel, abs });
      }
      // Sockets, FIFOs and devices are not export content.
    }

    for (let i = 0; i < found.length; i += STAT_BATCH) {
      const batch = found.slice(i, i + STAT_BATCH);
      const sizes = await Promise.all(
        batch.map(async (f) => f.size ?? (await statOrFail(f.abs, f.rel)).size),
      );
      batch.forEach((f, j) => addFile(f.rel, f.abs, sizes[j] ?? 0));
    }
  };

  const statOrFail = async (abs: string, rel: string): Promise<Stats> => {
    try {
      return await stat(abs);
    } catch (e) {
      throw new FerryError('input_invalid', `${label}: cannot read ${rel} (${errorText(e)})`, {
        cause: e,
      });
    }
  };

  await visit(realRoot, '', new Set([realRoot]));
  const index = buildIndex(files, ctx.rootMarkers, logger);
  logger.debug({ entries: index.entries.length, root: index.root }, 'export folder indexed');
  return new DirectoryArchiveReader(label, index.entries, index.byPath);
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
