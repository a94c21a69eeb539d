/**
 * Finding ferry's own events in the end of a room's timeline by their provenance key, reading
 * back (`/messages?dir=b`) only as far as needed, so that the cost does not grow with the room.
 *
 * Contract:
 * - `wanted` holds `<event key>#<part>` provenance keys. Paging stops as soon as every wanted key
 *   was seen, or once the `anchor` event has been read: the anchor is an event the room is known
 *   to have held before any wanted event was sent (the last send ferry confirmed before the first
 *   wanted one was attempted). Sends into a room are one at a time and awaited, so a wanted
 *   event that landed sits after the anchor in the timeline; nothing before it can match.
 * - Without an anchor (nothing confirmed in the room yet), or when the anchor is never read (it
 *   was purged), paging goes on to the start of the room: correct, but as long as the room.
 * - Events after the anchor that are not ferry's (people writing in the room meanwhile,
 *   membership changes) are read through, however many there are: a fixed window would miss a
 *   landed send behind them and resend it, i.e. duplicate it.
 */
import type { MatrixClient } from './client.js';
import { PROVENANCE_KEY } from './event-content.js';
import type { RoomId } from './types.js';

/** Events per `/messages` page: normally the wanted event is among the first few. */
export const TAIL_PAGE = 50;

export interface TailSearch {
  /** Wanted provenance key → the event ID it was found at. */
  found: Map<string, string>;
  /** `/messages` requests made. */
  pages: number;
  /** Events read. */
  events: number;
  /** Why paging stopped. */
  stop: 'all_found' | 'anchor' | 'room_start';
}

/** The `<event key>#<part>` of an event's ferry provenance, if it has one. */
export function provenanceKey(content: Record<string, unknown>): string | undefined {
  const p = content[PROVENANCE_KEY] as { key?: unknown; part?: unknown } | undefined;
  if (p === undefined || p === null || typeof p.key !== 'string') return undefined;
  return `${p.key}#${String(p.part)}`;
}

/** Pages back from the end of `roomId` until the wanted keys or the anchor are found. */
export async function searchTail(
  client: MatrixClient,
  roomId: RoomId,
  wanted: ReadonlySet<string>,
  anchor: string | undefined,
  pageLimit = TAIL_PAGE,
): Promise<TailSearch> {
  const result: TailSearch = { found: new Map(), pages: 0, events: 0, stop: 'room_start' };
  if (wanted.size === 0) return { ...result, stop: 'all_found' };
  let from: string | undefined;
  for (;;) {
    const page = await client.messages(roomId, { dir: 'b', limit: pageLimit, from });
    result.pages += 1;
    for (const ev of page.chunk) {
      result.events += 1;
      const key = provenanceKey(ev.content);
      if (key !== undefined && wanted.has(key) && !result.found.has(key))
        result.found.set(key, ev.event_id);
      if (result.found.size === wanted.size) return { ...result, stop: 'all_found' };
      if (anchor !== undefined && ev.event_id === anchor) return { ...result, stop: 'anchor' };
    }
    if (page.end === undefined || page.chunk.length === 0) return result;
    from = page.end;
  }
}
