/** `ferry ingest element <file|zip|dir>`: stream an Element JSON export into the store. */
import type { Logger } from '../../logger.js';
import { ingest, type IngestSummary } from '../../ingest/ingest.js';
import { elementExportItems } from '../../sources/element/index.js';
import type { Store } from '../../store/store.js';
import { createProgress } from '../progress.js';

export async function runIngestElement(
  path: string,
  store: Store,
  options: { progress: boolean; logger: Logger },
): Promise<IngestSummary> {
  const progress = createProgress('ingest', options.progress);
  try {
    return await ingest(elementExportItems(path, { logger: options.logger }), store, {
      input: path,
      logger: options.logger,
      onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.stop();
  }
}
