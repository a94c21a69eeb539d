/** `ferry check <path>`: a pre-flight that reads an export and writes nothing. */
import { SummaryCounter, type ContentSummary } from '../../ingest/summary.js';
import type { ExportKind } from '../../model/index.js';
import { createProgress } from '../progress.js';
import { sourceItems, type SourceOptions } from '../source-items.js';

export async function runCheck(
  kind: ExportKind,
  path: string,
  options: SourceOptions & { progress: boolean },
): Promise<ContentSummary> {
  const counter = new SummaryCounter();
  const progress = createProgress('check', options.progress);
  try {
    for await (const item of sourceItems(kind, path, options)) {
      counter.add(item);
      if (item.type === 'progress') progress.update(item.done, item.total, item.label);
    }
  } finally {
    progress.stop();
  }
  return counter.finish();
}
