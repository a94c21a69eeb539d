/** `MatrixClient`'s timeline area: sending events and state as a user at a time, redactions, reading pages, read markers. */
import { field, requireEvents, requireString } from './client-response.js';
import { CS, encodePath, type RequestSpec } from './client-transport.js';
import {
  isEventId,
  type Direction,
  type EventId,
  type JsonObject,
  type MessagesPage,
  type RoomEventFilter,
  type RoomId,
  type UserId,
} from './types.js';

/** Who sends a timeline or state event, and when it claims to have happened. */
export interface SendOptions {
  /** Masquerade as this user (`?user_id=`); the AS bot when omitted. */
  userId?: UserId;
  /** Original time in ms since the epoch (`?ts=`, sets `origin_server_ts`); "now" if omitted. */
  ts?: number;
  /**
   * `throttle_only` hands ambiguous failures (5xx, lost responses) back to the caller instead of
   * resending: a resend is only safe after checking the event did not land, since Synapse's
   * transaction cache does not survive a restart. Default `idempotent`.
   */
  retry?: 'idempotent' | 'throttle_only';
}

export interface MessagesOptions {
  from?: string;
  dir: Direction;
  limit: number;
  filter?: RoomEventFilter;
  userId?: UserId;
}

import { RoomsApi } from './client-rooms.js';

export class TimelineApi extends RoomsApi {
  /**
   * `PUT /rooms/{roomId}/send/{type}/{txnId}?user_id=&ts=`. Returns the event ID.
   *
   * `txnId` must be deterministic and globally unique (Synapse's txn cache ignores `user_id`,
   * §5.9). Retry: idempotent — a retry after a lost response reuses the same txnId and gets
   * the first event's ID back while the server's txn cache still holds it (30–60 min, not
   * across restarts).
   */
  async sendEvent(
    roomId: RoomId,
    type: string,
    txnId: string,
    content: JsonObject,
    options: SendOptions = {},
  ): Promise<EventId> {
    return this.putEvent(CS + encodePath`/rooms/${roomId}/send/${type}/${txnId}`, content, options);
  }

  /**
   * `PUT /rooms/{roomId}/redact/{eventId}/{txnId}?user_id=&ts=`: redacts an event, carrying
   * extra content keys (ferry's provenance) beside `reason`. Retry: idempotent (txn ID).
   */
  async redact(
    roomId: RoomId,
    eventId: EventId,
    txnId: string,
    content: JsonObject,
    options: SendOptions = {},
  ): Promise<EventId> {
    return this.putEvent(
      CS + encodePath`/rooms/${roomId}/redact/${eventId}/${txnId}`,
      content,
      options,
    );
  }

  /**
   * `PUT /rooms/{roomId}/state/{type}/{stateKey}?user_id=&ts=`. Returns the event ID. Synapse
   * returns the existing event for an identical replay (same sender and content).
   * Retry: idempotent.
   */
  async sendState(
    roomId: RoomId,
    type: string,
    stateKey: string,
    content: JsonObject,
    options: SendOptions = {},
  ): Promise<EventId> {
    return this.putEvent(
      CS + encodePath`/rooms/${roomId}/state/${type}/${stateKey}`,
      content,
      options,
    );
  }

  /** One timeline or state event PUT as `options.userId` at `options.ts`; returns its ID. */
  protected async putEvent(
    path: string,
    content: JsonObject,
    options: SendOptions,
  ): Promise<EventId> {
    const spec: RequestSpec = {
      method: 'PUT',
      path,
      query: { user_id: options.userId, ts: options.ts },
      body: { kind: 'json', value: content },
      retry: options.retry ?? 'idempotent',
    };
    return requireString(spec, await this.request(spec), 'event_id', isEventId);
  }

  /** `GET /rooms/{roomId}/messages`: one page of the timeline. Retry: idempotent. */
  async messages(roomId: RoomId, options: MessagesOptions): Promise<MessagesPage> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/rooms/${roomId}/messages`,
      query: {
        dir: options.dir,
        limit: options.limit,
        from: options.from,
        filter: options.filter === undefined ? undefined : JSON.stringify(options.filter),
        user_id: options.userId,
      },
      retry: 'idempotent',
    };
    const body = await this.request(spec);
    const page: MessagesPage = {
      chunk: requireEvents(spec, field(body, 'chunk')),
      start: requireString(spec, body, 'start'),
    };
    const end = field(body, 'end');
    if (typeof end === 'string') page.end = end;
    const state = field(body, 'state');
    if (state !== undefined) page.state = requireEvents(spec, state);
    return page;
  }

  /**
   * `POST /rooms/{roomId}/read_markers` as `userId`, setting both `m.fully_read` and `m.read`
   * to `eventId`. Retry: idempotent.
   */
  async setReadMarkers(roomId: RoomId, userId: UserId, eventId: EventId): Promise<void> {
    await this.request({
      method: 'POST',
      path: CS + encodePath`/rooms/${roomId}/read_markers`,
      query: { user_id: userId },
      body: { kind: 'json', value: { 'm.fully_read': eventId, 'm.read': eventId } },
      retry: 'idempotent',
    });
  }
}
