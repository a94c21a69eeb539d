/** `ferry ingest slack <path>`: stream an export into the store. */
import type { Logger } from '../../logger.js';
import { ingest, type IngestSummary } from '../../ingest/ingest.js';
import { slackExportItems } from '../../sources/slack/index.js';
import type { Store } from '../../store/store.js';
import { createProgress } from '../progress.js';

export async function runIngestSlack(
  path: string,
  store: Store,
  options: { skipBadFiles: boolean; workspaceName?: string; progress: boolean; logger: Logger },
): Promise<IngestSummary> {
  const progress = createProgress('ingest', options.progress);
  try {
    return await ingest(slackExportItems(path, options), store, {
      input: path,
      logger: options.logger,
      onProgress: (done, total) => progress.update(done, total),
    });
  } finally {
    progress.stop();
  }
}
