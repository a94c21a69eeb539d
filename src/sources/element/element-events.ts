/**
 * One element of an Element export's `messages` → model items, through the shared
 * Matrix-event mapper (../matrix-events) with `ELEMENT_RULES`.
 *
 * What stays here is what only an Element export has: events that are not valid Matrix
 * events at all (skipped by their index), events of another room, and attachments found by
 * name in the export's folders (element-attachments.ts).
 */
import type { RoomKey, SourceItem, SourceKey } from '../../model/index.js';
import type { EventDecryptor } from '../../e2ee/decryptor.js';
import {
  ELEMENT_RULES,
  finalContent,
  matrixEventItems,
  nonEmpty,
  obj,
  parseMatrixEvent,
  str,
  type JsonObject,
  type MatrixEvent,
  type MatrixEventContext,
  type MediaResolver,
} from '../matrix-events/index.js';
import { isMxcUri, matrixMediaKey } from '../../model/matrix-keys.js';
import type {
  AttachmentFolder,
  AttachmentQuery,
  ElementAttachments,
} from './element-attachments.js';
import { elementMediaKey } from './element-keys.js';

export { bundledEdit, threadRootOf } from '../matrix-events/index.js';

/** An Element event, parsed (the shared mapper's event shape). */
export type EventHeader = MatrixEvent;
export const eventHeader = parseMatrixEvent;

export interface ElementEventContext extends MatrixEventContext {
  /** `<input>: <entry>`, the start of every `where`. */
  where: string;
}

/** The mapper context of one export; the sets start empty. */
export function elementEventContext(o: {
  source: SourceKey;
  roomId: string;
  room: RoomKey;
  where: string;
  /** Undefined for a bare JSON export (no attachments anywhere). */
  attachments: ElementAttachments | undefined;
  threadRoots: Map<string, boolean>;
  decryptor?: EventDecryptor;
}): ElementEventContext {
  return {
    source: o.source,
    room: o.room,
    roomId: o.roomId,
    where: o.where,
    rules: ELEMENT_RULES,
    media: attachmentResolver(o.roomId, o.attachments),
    ...(o.decryptor === undefined ? {} : { decryptor: o.decryptor }),
    editedMessages: new Set(),
    emittedMedia: new Set(),
    threadRoots: o.threadRoots,
    orphanReplies: 0,
  };
}

export function elementEventItems(
  raw: unknown,
  index: number,
  ctx: ElementEventContext,
): SourceItem[] {
  const h = parseMatrixEvent(raw);
  if (h === undefined) {
    return [
      {
        type: 'skip',
        reason: 'malformed_message',
        where: `${ctx.where} messages[${index}]: no valid event_id, type, sender or origin_server_ts`,
      },
    ];
  }
  const where = `${ctx.where} ${h.eventId}`;
  if (h.roomId !== undefined && h.roomId !== ctx.roomId) {
    return [
      { type: 'skip', reason: 'malformed_message', where: `${where}: belongs to room ${h.roomId}` },
    ];
  }
  return matrixEventItems(h, ctx, where);
}

const FILE_FOLDERS: Readonly<Record<string, AttachmentFolder>> = {
  'm.image': 'images',
  'm.video': 'videos',
  'm.audio': 'audio',
  'm.file': 'files',
  'm.sticker': 'stickers',
};

/**
 * Media of an Element export: keyed by the mxc URI (plain or encrypted file), else by the
 * attachment's path; the body is the attachment Element wrote, when there is one. An encrypted
 * file without one is unreadable (its key is in the event, its ciphertext only on the source
 * homeserver): the event is an `undecryptable` skip for its room.
 */
function attachmentResolver(
  roomId: string,
  attachments: ElementAttachments | undefined,
): MediaResolver {
  return ({ event, content, mode, where }) => {
    const url = str(content.url) ?? str(obj(content.file)?.url);
    const mxc = url !== undefined && isMxcUri(url) ? url : undefined;
    const folder = FILE_FOLDERS[mode] ?? 'files';
    const localPath = attachments?.find(queryFor(event, content, folder));
    const key =
      mxc !== undefined
        ? matrixMediaKey(mxc)
        : localPath !== undefined
          ? elementMediaKey(roomId, localPath)
          : undefined;
    if (localPath === undefined && isEncryptedFile(content)) {
      // Element writes the decrypted file into the export; without it, nothing can be carried.
      const name = str(content.filename) ?? str(content.body) ?? 'a file';
      return {
        undecryptable: 'attachment_not_in_export',
        note: `encrypted ${mode} "${name}" without its decrypted file in the export`,
      };
    }
    if (key === undefined) return undefined;
    return {
      key,
      nativeId: mxc ?? localPath ?? key,
      availability: 'available',
      ...(localPath === undefined ? {} : { localPath }),
      losses:
        localPath === undefined ? [{ type: 'loss', reason: 'file_body_not_in_export', where }] : [],
    };
  };
}

/** Encrypted media: `content.file` and no clear `url` (Matrix spec, end-to-end attachments). */
function isEncryptedFile(content: JsonObject): boolean {
  return obj(content.file) !== undefined && str(content.url) === undefined;
}

/**
 * How to look up a media event's attachment (element-attachments.ts), or undefined when the
 * event is not one Element writes a file for.
 */
export function attachmentQueryOf(h: EventHeader): AttachmentQuery | undefined {
  if (h.redacted) return undefined;
  const own = h.content ?? {};
  if (h.type === 'm.sticker') return queryFor(h, own, 'stickers');
  if (h.type !== 'm.room.message') return undefined;
  if (obj(own['m.relates_to'])?.rel_type === 'm.replace') return undefined;
  const content = finalContent(h);
  const folder = FILE_FOLDERS[str(content.msgtype) ?? ''];
  return folder === undefined || folder === 'stickers' ? undefined : queryFor(h, content, folder);
}

function queryFor(h: EventHeader, content: JsonObject, folder: AttachmentFolder): AttachmentQuery {
  const voice =
    content['org.matrix.msc3245.voice'] !== undefined ||
    content['org.matrix.msc2516.voice'] !== undefined;
  const filename = nonEmpty(content.filename);
  const forcedExtension = folder === 'stickers' ? '.png' : voice ? '.ogg' : undefined;
  return {
    folder,
    body: str(content.body) ?? '',
    ts: h.ts,
    ...(filename === undefined ? {} : { filename }),
    ...(forcedExtension === undefined ? {} : { forcedExtension }),
  };
}
