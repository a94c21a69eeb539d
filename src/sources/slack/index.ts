/** Entry point of the Slack adapter: open an export and stream its items. */
import type { SourceItem } from '../../model/index.js';
import { openArchive } from '../../archive/archive-reader.js';
import { readSlackExport, type SlackExportOptions } from './slack-export.js';

export type { SlackExportOptions } from './slack-export.js';

/** Streams a Slack export (zip or folder); the archive is closed when the stream ends. */
export async function* slackExportItems(
  path: string,
  options: SlackExportOptions = {},
): AsyncGenerator<SourceItem> {
  const reader = await openArchive(path, { logger: options.logger });
  try {
    yield* readSlackExport(reader, options);
  } finally {
    await reader.close();
  }
}
