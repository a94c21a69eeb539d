/**
 * End-to-end plumbing: a Synapse, a store and a ferry config that points at both, plus a small
 * independent reader over the raw client-server and admin APIs (it shares no code with the
 * writer).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { SynapseHandle } from './synapse.js';

export const TEST_PREFIX = '_ferry_';

/** Writes a ferry config for this Synapse (`extra`: more `matrix` keys, `top`: other sections). */
export function writeFerryConfig(
  synapse: SynapseHandle,
  extra: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): string {
  const path = join(synapse.dir, 'ferry.yaml');
  writeFileSync(
    path,
    stringify({
      ...top,
      matrix: {
        homeserver: synapse.baseUrl,
        registration: synapse.registrationPath,
        userPrefix: TEST_PREFIX,
        aliasPrefix: TEST_PREFIX,
        concurrency: 3,
        ...extra,
      },
    }),
  );
  return path;
}

export interface ReadEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  state_key?: string;
  content: Record<string, unknown>;
}

/** Reads rooms through the admin API, as an operator's tool would. */
export class AdminReader {
  constructor(private readonly synapse: SynapseHandle) {}

  private async get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.synapse.baseUrl}${path}`, {
      headers: { Authorization: `Bearer ${this.synapse.adminToken}` },
    });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  async roomIdOfAlias(aliasLocalpart: string): Promise<string> {
    const alias = encodeURIComponent(`#${aliasLocalpart}:${this.synapse.serverName}`);
    return (await this.get<{ room_id: string }>(`/_matrix/client/v3/directory/room/${alias}`))
      .room_id;
  }

  /** Every event of a room in timeline order. */
  async timeline(roomId: string): Promise<ReadEvent[]> {
    const out: ReadEvent[] = [];
    let from: string | undefined;
    for (;;) {
      const q = new URLSearchParams({
        dir: 'f',
        limit: '1000',
        ...(from === undefined ? {} : { from }),
      });
      const page = await this.get<{ chunk: ReadEvent[]; end?: string }>(
        `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/messages?${q.toString()}`,
      );
      out.push(...page.chunk);
      if (page.end === undefined || page.chunk.length === 0) return out;
      from = page.end;
    }
  }

  async state(roomId: string): Promise<ReadEvent[]> {
    return (
      await this.get<{ state: ReadEvent[] }>(
        `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/state`,
      )
    ).state;
  }

  async rooms(): Promise<
    {
      room_id: string;
      name: string | null;
      canonical_alias: string | null;
      joined_members: number;
    }[]
  > {
    return (
      await this.get<{
        rooms: {
          room_id: string;
          name: string | null;
          canonical_alias: string | null;
          joined_members: number;
        }[];
      }>('/_synapse/admin/v1/rooms?limit=500')
    ).rooms;
  }

  async user(mxid: string): Promise<{ displayname?: string }> {
    return this.get(`/_synapse/admin/v2/users/${encodeURIComponent(mxid)}`);
  }

  async accountData(mxid: string): Promise<{ account_data: { global: Record<string, unknown> } }> {
    return this.get(`/_synapse/admin/v1/users/${encodeURIComponent(mxid)}/accountdata`);
  }
}

export const slackGhost = (synapse: SynapseHandle, slackId: string): string =>
  `@${TEST_PREFIX}slack_${slackId.toLowerCase()}:${synapse.serverName}`;
