/**
 * One raw Matrix event (as the archive forms give it back, see archive-records.ts) → the model
 * items it becomes, through the shared Matrix-event mapper (../matrix-events) with
 * `ARCHIVE_RULES`. What stays here is what only matrix-archive does to events: legacy
 * download URLs in place of mxc URIs, and an event shape that kept little of `unsigned`.
 */
import type { EventDecryptor } from '../../e2ee/decryptor.js';
import { mediaKey, type RoomKey, type SourceItem, type SourceKey } from '../../model/index.js';
import {
  ARCHIVE_RULES,
  matrixEventItems,
  type MatrixEvent,
  type MediaResolver,
} from '../matrix-events/index.js';
import { isMxcUri, matrixMediaKey } from '../../model/matrix-keys.js';
import { isObject, type ArchiveEvent } from './archive-records.js';
import { mxcFromUrl } from './media-url.js';

export interface EventContext {
  source: SourceKey;
  room: RoomKey;
  /** Registers another user the event names (membership target) for emission. */
  user(mxid: string, displayName?: string): void;
  /** Where, for skips and losses: `<file>: <event id>`. */
  where: string;
  decryptor?: EventDecryptor;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function eventItems(event: ArchiveEvent, ctx: EventContext): SourceItem[] {
  return matrixEventItems(
    matrixEventOf(event),
    {
      source: ctx.source,
      room: ctx.room,
      roomId: event.roomId,
      rules: ARCHIVE_RULES,
      media: archiveMedia,
      ...(ctx.decryptor === undefined ? {} : { decryptor: ctx.decryptor }),
      onMember: (mxid, displayName) => ctx.user(mxid, displayName),
      // Archive events carry no bundled edits, so nothing is ever marked edited.
      editedMessages: new Set(),
      orphanReplies: 0,
    },
    ctx.where,
  );
}

/** matrix-archive keeps only the previous membership of `unsigned`. */
function matrixEventOf(event: ArchiveEvent): MatrixEvent {
  return {
    eventId: event.eventId,
    type: event.type,
    sender: event.sender,
    ts: event.ts,
    roomId: event.roomId,
    stateKey: event.stateKey,
    content: event.content,
    unsigned:
      event.prevMembership === undefined
        ? {}
        : { prev_content: { membership: event.prevMembership } },
    redacts: event.redacts,
    redacted: event.redacted,
  };
}

/**
 * Files: the mxc URI, rebuilt from the download URL the exporter put in its place; a URL
 * that is no Matrix download stays a link (`external`). Bodies are never in the dump.
 */
const archiveMedia: MediaResolver = ({ content, where }) => {
  const encrypted = isObject(content.file) ? str(content.file.url) : undefined;
  const url = str(content.url) ?? encrypted;
  if (url === undefined) return undefined;
  const mxc = mxcFromUrl(url);
  const valid = mxc !== undefined && isMxcUri(mxc);
  return {
    key: valid ? matrixMediaKey(mxc) : mediaKey(url),
    nativeId: mxc ?? url,
    // The body is not in the file: the writer links the original mxc (or the URL) instead.
    availability: mxc === undefined ? 'external' : 'available',
    ...(mxc === undefined ? { remoteUrl: url } : {}),
    losses:
      encrypted !== undefined && str(content.url) === undefined
        ? // The decryption key stays behind: the mxc only holds ciphertext.
          [{ type: 'loss', reason: 'file_body_not_in_export', where: `${where} (encrypted file)` }]
        : [],
  };
};
