/**
 * `openArchive`: the one entry point that picks the zip or the folder reader. The contract both
 * keep is in archive.ts.
 */
import { open, stat } from 'node:fs/promises';
import { FerryError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { DEFAULT_ROOT_MARKERS, type ArchiveReader, type OpenArchiveOptions } from './archive.js';
import { openDirectoryArchive } from './directory-reader.js';
import { hasZipSignature, isErrnoCode, errorText } from './helpers.js';
import { openZipArchive } from './zip-reader.js';

export {
  DEFAULT_ROOT_MARKERS,
  type ArchiveEntry,
  type ArchiveReader,
  type OpenArchiveOptions,
} from './archive.js';

/**
 * Opens a zip file or a folder as an `ArchiveReader` and reads its whole index.
 *
 * A missing path → `input_not_found` ("<path>: no such file or folder"); any file that is not
 * a zip → `input_unsupported` ("<path> is neither a zip file nor a folder"). A single `.json`
 * file is deliberately not accepted here: callers that support one (Element) check for it
 * first and use `isZipFile` to decide.
 */
export async function openArchive(
  inputPath: string,
  opts: OpenArchiveOptions = {},
): Promise<ArchiveReader> {
  const logger = (opts.logger ?? silentLogger).child({ archive: inputPath });
  const rootMarkers = opts.rootMarkers ?? DEFAULT_ROOT_MARKERS;

  let stats;
  try {
    stats = await stat(inputPath);
  } catch (e) {
    if (isErrnoCode(e, 'ENOENT') || isErrnoCode(e, 'ENOTDIR')) {
      throw new FerryError('input_not_found', `${inputPath}: no such file or folder`, { cause: e });
    }
    throw new FerryError('input_invalid', `${inputPath}: cannot be read (${errorText(e)})`, {
      cause: e,
    });
  }

  if (stats.isDirectory()) {
    return openDirectoryArchive(inputPath, { label: inputPath, rootMarkers, logger });
  }
  if (!stats.isFile()) {
    throw new FerryError('input_unsupported', `${inputPath} is neither a zip file nor a folder`);
  }
  return openZipArchive(inputPath, { label: inputPath, rootMarkers, logger });
}

/**
 * True when `path` is a regular file that starts with a zip signature (`PK\x03\x04`, or
 * `PK\x05\x06` for an empty zip, or the `PK\x07\x08` spanning marker). False for folders,
 * missing paths and anything else. Self-extracting zips (an executable prefix) return false
 * even though `openArchive` can read them.
 */
export async function isZipFile(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
    const st = await handle.stat();
    if (!st.isFile()) return false;
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return bytesRead === 4 && hasZipSignature(head);
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}
