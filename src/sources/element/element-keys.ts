/**
 * Keys of the Element adapter.
 *
 * Rooms, events, users and `mxc://` media use the shared Matrix keys (../matrix-keys.ts), so
 * an Element export merges with other exports of the same room, whoever made them and
 * whichever adapter reads them. Only two keys are Element-specific:
 *
 * - the source: one per room *and exporter* (`element:<room_id>:<exported_by>`), so two
 *   people's exports of one room are two sources feeding one room;
 * - media without an `mxc://` URI (never seen in practice, but the JSON does not promise
 *   one): keyed by the attachment's path in the export, scoped to the room.
 */
import { mediaKey, sourceKey, type MediaKey, type SourceKey } from '../../model/index.js';

export {
  matrixEventKey,
  matrixMediaKey,
  matrixOrder,
  matrixRoomKey,
  matrixUserKey,
} from '../../model/matrix-keys.js';

/**
 * `exportedBy` is the export's `exported_by` field: a display name, or the MXID when the
 * exporter had none. Without it the room ID alone names the source.
 */
export const elementSourceKey = (roomId: string, exportedBy?: string): SourceKey =>
  sourceKey(exportedBy === undefined ? `element:${roomId}` : `element:${roomId}:${exportedBy}`);

/** A file with no `mxc://` URI, by its entry path in the export (see element-attachments.ts). */
export const elementMediaKey = (roomId: string, attachmentPath: string): MediaKey =>
  mediaKey(`element:${roomId}:${attachmentPath}`);
