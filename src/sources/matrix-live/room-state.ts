/**
 * A room's current state (`GET /rooms/{id}/state`) → its room record and its people, read by
 * the Element adapter's own survey (../element/element-survey.ts) so that a live room and an
 * Element export of it give the same room and user records. Only a space (`m.room.create`
 * `type: m.space`) is told apart here, which an Element export never holds.
 */
import type { RoomRecord, SourceKey, UserRecord } from '../../model/index.js';
import { matrixRoomKey } from '../../model/matrix-keys.js';
import { ElementSurvey } from '../element/element-survey.js';
import { nonEmpty, obj, str } from '../matrix-events/index.js';

export interface RoomFromState {
  room: RoomRecord;
  users: UserRecord[];
}

export function roomFromState(
  events: readonly unknown[],
  source: SourceKey,
  roomId: string,
  parent: string | undefined,
): RoomFromState {
  const survey = new ElementSurvey();
  let name: string | undefined;
  let topic: string | undefined;
  let space = false;
  for (const raw of events) {
    // /state events carry no room_id on some servers: the survey keys on it.
    const e = obj(raw);
    if (e === undefined) continue;
    survey.learn({ room_id: roomId, ...e });
    const content = obj(e.content) ?? {};
    if (e.state_key !== '') continue;
    if (e.type === 'm.room.name') name = nonEmpty(content.name);
    if (e.type === 'm.room.topic') topic = nonEmpty(content.topic);
    if (e.type === 'm.room.create' && str(content.type) === 'm.space') space = true;
  }
  const record = survey.roomRecord(source, roomId, {
    ...(name === undefined ? {} : { name }),
    ...(topic === undefined ? {} : { topic }),
  });
  const room: RoomRecord = {
    ...record,
    ...(space ? { kind: 'space' } : {}),
    ...(parent === undefined ? {} : { parent: matrixRoomKey(parent) }),
  };
  return { room, users: survey.userRecords(source) };
}
