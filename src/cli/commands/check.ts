/** `ferry check <path>`: a pre-flight that reads an export and writes nothing. */
import type { Logger } from '../../logger.js';
import { SummaryCounter, type ContentSummary } from '../../ingest/summary.js';
import { slackExportItems } from '../../sources/slack/index.js';
import { createProgress } from '../progress.js';

export async function runCheck(
  path: string,
  options: { skipBadFiles: boolean; workspaceName?: string; progress: boolean; logger: Logger },
): Promise<ContentSummary> {
  const counter = new SummaryCounter();
  const progress = createProgress('check', options.progress);
  try {
    for await (const item of slackExportItems(path, options)) {
      counter.add(item);
      if (item.type === 'progress') progress.update(item.done, item.total, item.label);
    }
  } finally {
    progress.stop();
  }
  return counter.finish();
}
