/** `MatrixClient`'s server area: versions, capabilities, who the token is, the Synapse admin API. */
import type { HttpMethod } from './client-errors.js';
import { badResponse, field, requireString } from './client-response.js';
import { CS, type RequestSpec } from './client-transport.js';
import type { RetryMode } from './retry.js';
import {
  isUserId,
  serverNameOf,
  type UserId,
  type VersionsResponse,
  type WhoamiResponse,
} from './types.js';
import { MatrixTransport } from './client-transport.js';

export class ServerApi extends MatrixTransport {
  /** `GET /_matrix/client/versions`. Retry: idempotent. */
  async versions(): Promise<VersionsResponse> {
    const spec: RequestSpec = {
      method: 'GET',
      path: '/_matrix/client/versions',
      retry: 'idempotent',
    };
    const body = await this.request(spec);
    const versions = field(body, 'versions');
    if (!Array.isArray(versions) || !versions.every((v) => typeof v === 'string')) {
      throw badResponse(spec, 'missing "versions"');
    }
    return body as VersionsResponse;
  }

  /** The default room version from `GET /capabilities` (`'1'` when the server does not say). */
  async defaultRoomVersion(): Promise<string> {
    const body = await this.request({
      method: 'GET',
      path: `${CS}/capabilities`,
      retry: 'idempotent',
    });
    const caps = field(body, 'capabilities');
    const versions =
      typeof caps === 'object' && caps !== null
        ? (caps as Record<string, unknown>)['m.room_versions']
        : undefined;
    const def =
      typeof versions === 'object' && versions !== null
        ? (versions as Record<string, unknown>).default
        : undefined;
    return typeof def === 'string' ? def : '1';
  }

  /** `GET /account/whoami`, as `userId` when given. Retry: idempotent. */
  async whoami(userId?: UserId): Promise<WhoamiResponse> {
    const spec: RequestSpec = {
      method: 'GET',
      path: `${CS}/account/whoami`,
      query: { user_id: userId },
      retry: 'idempotent',
    };
    const body = await this.request(spec);
    requireString(spec, body, 'user_id', isUserId);
    return body as WhoamiResponse;
  }

  /** The homeserver's server name (from the options, else from the bot's `whoami`). */
  async serverName(): Promise<string> {
    this.knownServerName ??= serverNameOf((await this.whoami()).user_id);
    return this.knownServerName;
  }

  /**
   * A Synapse admin API call (`/_synapse/admin/…`) with a separate admin access token.
   * `path` is used as given, so the caller encodes its segments (and may add a query).
   * Retry: idempotent for GET/PUT/DELETE, `throttle_only` for POST unless overridden.
   */
  async adminRequest(
    method: HttpMethod,
    path: string,
    body: unknown,
    adminToken: string,
    options: { retry?: RetryMode } = {},
  ): Promise<unknown> {
    if (!path.startsWith('/_synapse/admin/')) {
      throw new TypeError('adminRequest path must start with /_synapse/admin/');
    }
    const queryAt = path.indexOf('?');
    return this.request({
      method,
      path: queryAt === -1 ? path : path.slice(0, queryAt),
      query:
        queryAt === -1 ? undefined : Object.fromEntries(new URLSearchParams(path.slice(queryAt))),
      body: body === undefined ? { kind: 'none' } : { kind: 'json', value: body },
      retry: options.retry ?? (method === 'POST' ? 'throttle_only' : 'idempotent'),
      token: adminToken,
    });
  }
}
