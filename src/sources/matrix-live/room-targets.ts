/**
 * Which rooms `ferry ingest matrix` reads: the rooms named by `--rooms` (IDs, or `#aliases`
 * resolved through the room directory), the children of `--space` (the space hierarchy API,
 * the space itself first), or by default every joined room (`/joined_rooms`).
 */
import { isMatrixRoomId } from '../../model/matrix-keys.js';
import { obj, str } from '../matrix-events/index.js';
import type { HomeserverClient } from './homeserver-client.js';
import type { RoomSkipReason } from './live-report.js';

export interface RoomTarget {
  roomId: string;
  /** The space room this room is a child of (with `--space`). */
  parent?: string;
}

export interface TargetSkip {
  room: string;
  reason: RoomSkipReason;
  errcode: string;
}

export interface RoomSelection {
  rooms?: readonly string[];
  space?: string;
}

export async function roomTargets(
  client: HomeserverClient,
  selection: RoomSelection,
): Promise<{ targets: RoomTarget[]; skips: TargetSkip[] }> {
  const skips: TargetSkip[] = [];
  const targets: RoomTarget[] = [];
  const add = (t: RoomTarget) => {
    if (!targets.some((x) => x.roomId === t.roomId)) targets.push(t);
  };
  if (selection.space !== undefined) {
    const space = await resolveRoom(client, selection.space, skips);
    if (space !== undefined) {
      for (const t of await spaceChildren(client, space, skips)) add(t);
    }
  }
  for (const name of selection.rooms ?? []) {
    const roomId = await resolveRoom(client, name, skips);
    if (roomId !== undefined) add({ roomId });
  }
  if (selection.space === undefined && selection.rooms === undefined) {
    const joined = await client.get('rooms', '/joined_rooms');
    const ids =
      joined.ok && Array.isArray(joined.data.joined_rooms) ? joined.data.joined_rooms : [];
    for (const id of ids) if (typeof id === 'string' && isMatrixRoomId(id)) add({ roomId: id });
  }
  return { targets, skips };
}

/** A room ID as given, or an alias through `/directory/room/{alias}`. */
async function resolveRoom(
  client: HomeserverClient,
  name: string,
  skips: TargetSkip[],
): Promise<string | undefined> {
  if (!name.startsWith('#')) return name;
  const r = await client.get('directory', `/directory/room/${encodeURIComponent(name)}`);
  const roomId = r.ok ? str(r.data.room_id) : undefined;
  if (roomId === undefined) {
    skips.push({
      room: name,
      reason: 'alias_not_found',
      errcode: r.ok ? 'M_NOT_FOUND' : r.errcode,
    });
  }
  return roomId;
}

/** The space first, then each child room the hierarchy lists (every page of it). */
async function spaceChildren(
  client: HomeserverClient,
  space: string,
  skips: TargetSkip[],
): Promise<RoomTarget[]> {
  const out: RoomTarget[] = [{ roomId: space }];
  let from: string | undefined;
  do {
    const r = await client.get(
      'hierarchy',
      `/_matrix/client/v1/rooms/${encodeURIComponent(space)}/hierarchy`,
      { from, max_depth: '1' },
    );
    if (!r.ok) {
      skips.push({ room: space, reason: 'not_a_space', errcode: r.errcode });
      return [];
    }
    const rooms = Array.isArray(r.data.rooms) ? r.data.rooms : [];
    for (const raw of rooms) {
      const roomId = str(obj(raw)?.room_id);
      if (roomId !== undefined && roomId !== space) out.push({ roomId, parent: space });
    }
    from = str(r.data.next_batch);
  } while (from !== undefined);
  return out;
}
