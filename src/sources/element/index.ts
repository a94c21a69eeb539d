/** Entry point of the Element adapter: open an "Export Chat" JSON export and stream its items. */
import type { SourceItem } from '../../model/index.js';
import { readElementExport, type ElementExportOptions } from './element-export.js';

export type { ElementExportOptions } from './element-export.js';

/**
 * Streams an Element JSON export: a bare `.json`, a zip (with or without its root folder) or
 * the unzipped folder. Whatever it opens is closed when the stream ends.
 */
export function elementExportItems(
  path: string,
  options: ElementExportOptions = {},
): AsyncGenerator<SourceItem> {
  return readElementExport(path, options);
}
