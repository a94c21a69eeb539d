/** `MatrixClient`'s users area: registering AS users, profiles, account data. */
import { isErrcode } from './client-errors.js';
import { badResponse, field, isObject, requireString } from './client-response.js';
import { CS, encodePath, type RequestSpec } from './client-transport.js';
import {
  isMxcUri,
  isUserId,
  type JsonObject,
  type MxcUri,
  type Profile,
  type UserId,
} from './types.js';

export interface RegisterResult {
  userId: UserId;
  /** False when the user already existed (`M_USER_IN_USE`). */
  created: boolean;
}

import { ServerApi } from './client-server.js';

export class UsersApi extends ServerApi {
  /**
   * Registers an AS user (`POST /register`, `m.login.application_service`,
   * `inhibit_login: true`). An existing user (`M_USER_IN_USE`) is success with
   * `created: false`. Retry: idempotent (a repeat after a lost response reports
   * `created: false`).
   */
  async registerUser(localpart: string): Promise<RegisterResult> {
    const spec: RequestSpec = {
      method: 'POST',
      path: `${CS}/register`,
      body: {
        kind: 'json',
        value: { type: 'm.login.application_service', username: localpart, inhibit_login: true },
      },
      retry: 'idempotent',
    };
    try {
      const body = await this.request(spec);
      return { userId: requireString(spec, body, 'user_id', isUserId), created: true };
    } catch (error) {
      if (!isErrcode(error, 'M_USER_IN_USE')) throw error;
      return { userId: `@${localpart}:${await this.serverName()}`, created: false };
    }
  }

  /** `GET /profile/{userId}`; `undefined` if the user is unknown. Retry: idempotent. */
  async getProfile(userId: UserId): Promise<Profile | undefined> {
    const body = await this.requestOrNotFound({
      method: 'GET',
      path: CS + encodePath`/profile/${userId}`,
      retry: 'idempotent',
    });
    if (body === undefined) return undefined;
    const profile: Profile = {};
    const displayname = field(body, 'displayname');
    const avatarUrl = field(body, 'avatar_url');
    if (typeof displayname === 'string') profile.displayname = displayname;
    if (typeof avatarUrl === 'string' && isMxcUri(avatarUrl)) profile.avatar_url = avatarUrl;
    return profile;
  }

  /**
   * `PUT /profile/{userId}/displayname` as that user. Set profiles before the user's first join:
   * Synapse re-sends the member event, stamped "now", in every joined room (§2.4).
   * Retry: idempotent.
   */
  async setDisplayName(userId: UserId, displayname: string): Promise<void> {
    await this.request({
      method: 'PUT',
      path: CS + encodePath`/profile/${userId}/displayname`,
      query: { user_id: userId },
      body: { kind: 'json', value: { displayname } },
      retry: 'idempotent',
    });
  }

  /** `PUT /profile/{userId}/avatar_url` as that user; see `setDisplayName`. Retry: idempotent. */
  async setAvatarUrl(userId: UserId, avatarUrl: MxcUri): Promise<void> {
    await this.request({
      method: 'PUT',
      path: CS + encodePath`/profile/${userId}/avatar_url`,
      query: { user_id: userId },
      body: { kind: 'json', value: { avatar_url: avatarUrl } },
      retry: 'idempotent',
    });
  }

  /** `PUT /user/{userId}/account_data/{type}` as that user (replaces the whole value). */
  async setAccountData(userId: UserId, type: string, content: JsonObject): Promise<void> {
    await this.request({
      method: 'PUT',
      path: CS + encodePath`/user/${userId}/account_data/${type}`,
      query: { user_id: userId },
      body: { kind: 'json', value: content },
      retry: 'idempotent',
    });
  }

  /** `GET /user/{userId}/account_data/{type}`; `undefined` when unset. Retry: idempotent. */
  async getAccountData(userId: UserId, type: string): Promise<JsonObject | undefined> {
    const spec: RequestSpec = {
      method: 'GET',
      path: CS + encodePath`/user/${userId}/account_data/${type}`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const body = await this.requestOrNotFound(spec);
    if (body === undefined) return undefined;
    if (!isObject(body)) throw badResponse(spec, 'account data is not an object');
    return body as JsonObject;
  }
}
