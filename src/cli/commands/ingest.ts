/** `ferry ingest <kind> <path>`: stream an export into the store. */
import { ingest, type IngestSummary } from '../../ingest/ingest.js';
import type { ExportKind } from '../../model/index.js';
import type { Store } from '../../store/store.js';
import { createProgress } from '../progress.js';
import { sourceItems, type SourceOptions } from '../source-items.js';

export async function runIngest(
  kind: ExportKind,
  path: string,
  store: Store,
  options: SourceOptions & { progress: boolean },
): Promise<IngestSummary> {
  const progress = createProgress('ingest', options.progress);
  try {
    return await ingest(sourceItems(kind, path, options), store, {
      input: path,
      logger: options.logger,
      onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.stop();
  }
}
