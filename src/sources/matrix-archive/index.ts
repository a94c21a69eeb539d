/** Entry point of the matrix-archive adapter (see matrix-archive.ts for the three input forms). */
import type { SourceItem } from '../../model/index.js';
import { readMatrixArchive, type MatrixArchiveOptions } from './matrix-archive.js';

export type { MatrixArchiveOptions } from './matrix-archive.js';

/**
 * Streams a matrix-archive file: an osteele/matrix-archive JSON or YAML export (needs
 * `serverName`), mongoexport JSON lines of its database, or a russelldavies fork JSON file.
 * Throws FerryError `input_not_found`, `input_unsupported`, `input_invalid` or `config_invalid`.
 */
export function matrixArchiveItems(
  path: string,
  options: MatrixArchiveOptions = {},
): AsyncGenerator<SourceItem> {
  return readMatrixArchive(path, options);
}
