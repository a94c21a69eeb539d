/**
 * Provisioning: ghost users (registered through the appservice, profile set before they join
 * anything) and rooms (created once, found again by their deterministic alias).
 */
import pLimit from 'p-limit';
import { FerryError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RoomKey, RoomRecord } from '../model/index.js';
import type { MatrixClient } from './client.js';
import type { CatalogRoom, PushCatalog } from './push-catalog.js';
import type { PushState } from './push-state.js';
import type { CreateRoomBody, JsonObject, RoomId, UserId } from './types.js';

export interface ProvisionerOptions {
  client: MatrixClient;
  state: PushState;
  catalog: PushCatalog;
  /** The appservice bot (`@<sender_localpart>:server`): creator of every room. */
  botUserId: UserId;
  serverName: string;
  logger: Logger;
  /** Uploads an avatar from its URL and returns the mxc URI; absent when downloads are off. */
  uploadAvatar?: (url: string) => Promise<string | undefined>;
}

/**
 * Power needed per state event type. Given in full because a `power_level_content_override`
 * replaces the default `events` map. Imported authors may rename rooms and set topics (as
 * Slack members can); everything else stays with the bot.
 */
const EVENT_POWER: JsonObject = {
  'm.room.name': 0,
  'm.room.topic': 0,
  'm.room.avatar': 50,
  'm.room.canonical_alias': 50,
  'm.room.pinned_events': 50,
  'm.room.power_levels': 100,
  'm.room.history_visibility': 100,
  'm.room.join_rules': 100,
  'm.room.encryption': 100,
  'm.room.server_acl': 100,
  'm.room.tombstone': 100,
  'm.space.child': 50,
  'm.space.parent': 100,
};

export class Provisioner {
  private roomVersion: Promise<string> | undefined;

  constructor(private readonly o: ProvisionerOptions) {}

  /**
   * Registers every ghost not yet done and sets its display name. An account that already
   * existed keeps its profile unless it still has the default (its localpart) as name.
   */
  async provisionUsers(
    concurrency: number,
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ created: number; existing: number }> {
    const todo = await this.o.state.ghostsToProvision(this.o.uploadAvatar !== undefined);
    const limit = pLimit(concurrency);
    let done = 0;
    let created = 0;
    let existing = 0;
    await Promise.all(
      todo.map(({ key }) =>
        limit(async () => {
          const user = this.o.catalog.users.get(key);
          if (user === undefined) return;
          if (user.origin !== 'ghost') {
            // A mapped account belongs to a person: ferry neither registers nor changes it.
            await this.o.state.recordGhost(key, user.mxid, true, true);
            return;
          }
          const localpart = user.mxid.slice(1, user.mxid.indexOf(':'));
          const result = await this.o.client.registerUser(localpart);
          if (result.created) created += 1;
          else existing += 1;
          const profile = result.created ? undefined : await this.o.client.getProfile(user.mxid);
          const untouched = profile?.displayname === undefined || profile.displayname === localpart;
          if (untouched && user.displayName !== localpart) {
            await this.o.client.setDisplayName(user.mxid, user.displayName);
          }
          const noAvatar = profile?.avatar_url === undefined;
          if (noAvatar && user.avatarUrl !== undefined && this.o.uploadAvatar !== undefined) {
            const mxc = await this.o.uploadAvatar(user.avatarUrl);
            if (mxc !== undefined)
              await this.o.client.setAvatarUrl(user.mxid, mxc as `mxc://${string}/${string}`);
          }
          // Without downloads the avatar waits for a push that may fetch it.
          const avatarDone = user.avatarUrl === undefined || this.o.uploadAvatar !== undefined;
          await this.o.state.recordGhost(key, user.mxid, true, avatarDone);
          done += 1;
          onProgress?.(done, todo.length);
        }),
      ),
    );
    return { created, existing };
  }

  /** The room's Matrix ID, creating the room when neither the store nor the alias knows it. */
  async ensureRoom(roomKey: RoomKey): Promise<RoomId> {
    const row = await this.o.state.room(roomKey);
    if (row?.room_id != null) return row.room_id as RoomId;
    const room = this.o.catalog.rooms.get(roomKey);
    if (room === undefined) throw new Error(`room ${roomKey} is not in the store`);
    if (room.target !== undefined) {
      const existing = await this.existingRoom(roomKey, room.target);
      await this.o.state.setRoomId(roomKey, existing);
      return existing;
    }
    let roomId = await this.o.client.resolveAlias(room.alias);
    if (roomId === undefined) {
      const parentId = await this.parentRoomId(room.record);
      try {
        this.roomVersion ??= this.o.client.defaultRoomVersion();
        roomId = await this.o.client.createRoom(
          this.createBody(room, parentId, await this.roomVersion),
        );
        this.o.logger.info({ room: roomKey, roomId }, 'room created');
      } catch (e) {
        // createRoom is not idempotent: after an ambiguous failure (or M_ROOM_IN_USE from a
        // concurrent worker) the alias tells whether the room exists.
        roomId = await this.o.client.resolveAlias(room.alias);
        if (roomId === undefined) throw e;
      }
      if (parentId !== undefined) {
        await this.o.client.sendState(parentId, 'm.space.child', roomId, {
          via: [this.o.serverName],
          suggested: false,
        });
      }
    }
    await this.o.state.setRoomId(roomKey, roomId);
    return roomId;
  }

  /** A room the config maps this source room to: resolved and joined by the bot, never created. */
  private async existingRoom(roomKey: RoomKey, target: string): Promise<RoomId> {
    const roomId = target.startsWith('!')
      ? (target as RoomId)
      : await this.o.client.resolveAlias(target as `#${string}:${string}`);
    if (roomId === undefined) {
      throw new FerryError(
        'config_invalid',
        `rooms: ${roomKey} is mapped to ${target}, which does not exist`,
      );
    }
    try {
      await this.o.client.joinRoom(roomId, this.o.botUserId);
    } catch (e) {
      throw new FerryError(
        'homeserver_error',
        `rooms: ${roomKey} is mapped to ${target}, but ${this.o.botUserId} cannot join it (invite it first): ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    return roomId;
  }

  private async parentRoomId(room: RoomRecord): Promise<RoomId | undefined> {
    if (room.parent === undefined) return undefined;
    return this.ensureRoom(room.parent);
  }

  private createBody(
    room: CatalogRoom,
    parentId: RoomId | undefined,
    roomVersion: string,
  ): CreateRoomBody {
    const r = room.record;
    const isPublic = r.kind === 'channel' || r.kind === 'space';
    // From room version 12 the creator is all-powerful and must not be listed; before, it must be.
    const creatorListed = !/^\d+$/.test(roomVersion) || Number(roomVersion) < 12;
    const admins: Record<string, number> = creatorListed ? { [this.o.botUserId]: 100 } : {};
    for (const member of r.members) {
      const user = this.o.catalog.users.get(member);
      if (user?.isAdmin === true) admins[user.mxid] = 100;
    }
    if (r.creator !== undefined && r.kind !== 'dm' && r.kind !== 'group_dm') {
      const creator = this.o.catalog.users.get(r.creator);
      if (creator !== undefined) admins[creator.mxid] = Math.max(admins[creator.mxid] ?? 0, 50);
    }
    const initialState: { type: string; state_key: string; content: JsonObject }[] = [
      {
        type: 'm.room.history_visibility',
        state_key: '',
        content: { history_visibility: 'shared' },
      },
      { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'forbidden' } },
      {
        type: 'm.room.join_rules',
        state_key: '',
        content: { join_rule: isPublic ? 'public' : 'invite' },
      },
    ];
    if (parentId !== undefined) {
      initialState.push({
        type: 'm.space.parent',
        state_key: parentId,
        content: { via: [this.o.serverName], canonical: true },
      });
    }
    const topic = r.topic ?? r.purpose;
    const alias = room.alias;
    return {
      preset: isPublic ? 'public_chat' : 'private_chat',
      visibility: r.kind === 'channel' && !r.isArchived ? 'public' : 'private',
      room_alias_name: alias.slice(1, alias.indexOf(':')),
      ...(r.kind === 'dm' || r.kind === 'group_dm' || r.name === undefined ? {} : { name: r.name }),
      ...(topic === undefined ? {} : { topic }),
      ...(r.kind === 'space' ? { creation_content: { type: 'm.space' } } : {}),
      ...(r.kind === 'dm' || r.kind === 'group_dm' ? { is_direct: true } : {}),
      initial_state: initialState,
      power_level_content_override: {
        users: admins,
        events_default: 0,
        invite: 50,
        events: EVENT_POWER,
      },
    };
  }
}
