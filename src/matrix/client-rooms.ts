/** `MatrixClient`'s rooms area: creating rooms, aliases, membership, reading state and members. */
import { isStatus } from './client-errors.js';
import { badResponse, field, isObject, requireEvents, requireString } from './client-response.js';
import { CS, encodePath, type RequestSpec } from './client-transport.js';
import {
  isRoomId,
  type ClientEvent,
  type CreateRoomBody,
  type JsonObject,
  type RoomAlias,
  type RoomId,
  type UserId,
} from './types.js';
import { UsersApi } from './client-users.js';

export class RoomsApi extends UsersApi {
  /**
   * `POST /createRoom`, as `asUser` when given. Returns the new room ID.
   *
   * Retry: `throttle_only`. createRoom is not idempotent, so a 5xx or a connection lost after
   * the request was sent is thrown as a `retryable` error *without* a second attempt. The
   * caller must then `resolveAlias` the deterministic `room_alias_name` it passed: if the alias
   * resolves, the room was created and only missing state needs completing (§4.6).
   */
  async createRoom(body: CreateRoomBody, asUser?: UserId): Promise<RoomId> {
    const spec: RequestSpec = {
      method: 'POST',
      path: `${CS}/createRoom`,
      query: { user_id: asUser },
      body: { kind: 'json', value: body },
      retry: 'throttle_only',
    };
    return requireString(spec, await this.request(spec), 'room_id', isRoomId);
  }

  /** `GET /directory/room/{alias}`; `undefined` when the alias does not exist. Retry: idempotent. */
  async resolveAlias(alias: RoomAlias): Promise<RoomId | undefined> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/directory/room/${alias}`,
      retry: 'idempotent',
    };
    const body = await this.requestOrNotFound(spec);
    return body === undefined ? undefined : requireString(spec, body, 'room_id', isRoomId);
  }

  /**
   * `PUT /directory/room/{alias}`. Idempotent by design: if the alias already exists (409) and
   * points at `roomId`, this succeeds; if it points elsewhere the 409 is rethrown.
   * Retry: idempotent.
   */
  async putAlias(alias: RoomAlias, roomId: RoomId, asUser?: UserId): Promise<void> {
    try {
      await this.request({
        method: 'PUT',
        path: CS + encodePath`/directory/room/${alias}`,
        query: { user_id: asUser },
        body: { kind: 'json', value: { room_id: roomId } },
        retry: 'idempotent',
      });
    } catch (error) {
      if (isStatus(error, 409) && (await this.resolveAlias(alias)) === roomId) return;
      throw error;
    }
  }

  /** `GET /rooms/{roomId}/state/{type}/{stateKey}` content; `undefined` if unset. */
  async getState(
    roomId: RoomId,
    type: string,
    stateKey: string,
    userId?: UserId,
  ): Promise<JsonObject | undefined> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/state/${type}/${stateKey}`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const body = await this.requestOrNotFound(spec);
    if (body === undefined) return undefined;
    if (!isObject(body)) throw badResponse(spec, 'state content is not an object');
    return body as JsonObject;
  }

  /** `GET /rooms/{roomId}/state`: every current state event. Retry: idempotent. */
  async getRoomState(roomId: RoomId, userId?: UserId): Promise<ClientEvent[]> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/state`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    return requireEvents(spec, await this.request(spec));
  }

  /**
   * `POST /join/{roomIdOrAlias}` as `userId`. No `ts` is possible here: for a historical join
   * send `sendState(room, 'm.room.member', userId, {membership: 'join'}, {userId, ts})`.
   * Retry: idempotent (joining twice is a no-op).
   */
  async joinRoom(
    roomIdOrAlias: RoomId | RoomAlias,
    userId: UserId,
    options: { via?: string[] } = {},
  ): Promise<RoomId> {
    const spec: RequestSpec = {
      method: 'POST',
      path: CS + encodePath`/join/${roomIdOrAlias}`,
      query: { user_id: userId, server_name: options.via?.[0] },
      body: { kind: 'json', value: {} },
      retry: 'idempotent',
    };
    return requireString(spec, await this.request(spec), 'room_id', isRoomId);
  }

  /** `POST /rooms/{roomId}/invite` of `userId`, sent by `asUser`. Retry: idempotent. */
  async invite(roomId: RoomId, userId: UserId, asUser?: UserId): Promise<void> {
    await this.request({
      method: 'POST',
      path: CS + encodePath`/rooms/${roomId}/invite`,
      query: { user_id: asUser },
      body: { kind: 'json', value: { user_id: userId } },
      retry: 'idempotent',
    });
  }

  /** `GET /rooms/{roomId}/members`: current `m.room.member` events. Retry: idempotent. */
  async roomMembers(roomId: RoomId, userId?: UserId): Promise<ClientEvent[]> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/members`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    return requireEvents(spec, field(await this.request(spec), 'chunk'));
  }

  /** `GET /joined_rooms` as `userId`. Retry: idempotent. */
  async joinedRooms(userId?: UserId): Promise<RoomId[]> {
    const spec: RequestSpec = {
      method: 'GET',
      path: `${CS}/joined_rooms`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const rooms = field(await this.request(spec), 'joined_rooms');
    if (!Array.isArray(rooms)) throw badResponse(spec, 'missing "joined_rooms"');
    return rooms.map((r) => {
      if (typeof r !== 'string' || !isRoomId(r)) throw badResponse(spec, 'bad room ID');
      return r;
    });
  }
}
