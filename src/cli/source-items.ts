/**
 * Which adapter reads an input: the one place the CLI branches on source kind. `check` and
 * every `ingest` subcommand go through here, so they count exactly the same items.
 */
import type { EventDecryptor } from '../e2ee/decryptor.js';
import type { Logger } from '../logger.js';
import type { SourceItem, ExportKind } from '../model/index.js';
import { elementExportItems } from '../sources/element/index.js';
import { matrixArchiveItems } from '../sources/matrix-archive/index.js';
import { slackExportItems } from '../sources/slack/index.js';

export interface SourceOptions {
  logger: Logger;
  /** Slack: skip day files that are not valid JSON. */
  skipBadFiles?: boolean;
  /** Slack: name of the workspace space. */
  workspaceName?: string;
  /** Slack: worker threads that map day files (0: the main thread). */
  workers?: number;
  /** matrix-archive: server name of localpart-only senders. */
  serverName?: string;
  /** matrix-archive: IANA zone of its naive timestamps. */
  timezone?: string;
  /** Element and matrix-archive: room ID → canonical room ID (config `merge.rooms`, see `roomMergeMap`). */
  roomAliases?: ReadonlyMap<string, string>;
  /** Element and matrix-archive: decrypts `m.room.encrypted` events (`--room-keys`). */
  decryptor?: EventDecryptor;
}

export function sourceItems(
  kind: ExportKind,
  path: string,
  o: SourceOptions,
): AsyncGenerator<SourceItem> {
  switch (kind) {
    case 'slack':
      return slackExportItems(path, {
        logger: o.logger,
        skipBadFiles: o.skipBadFiles,
        workspaceName: o.workspaceName,
        workers: o.workers,
      });
    case 'element':
      return elementExportItems(path, {
        logger: o.logger,
        roomAliases: o.roomAliases,
        decryptor: o.decryptor,
      });
    case 'matrix-archive':
      return matrixArchiveItems(path, {
        logger: o.logger,
        serverName: o.serverName,
        timezone: o.timezone,
        roomAliases: o.roomAliases,
        decryptor: o.decryptor,
      });
  }
}
