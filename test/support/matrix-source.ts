/**
 * History on a real Synapse made the way people make it: users with their own access tokens
 * (registered through the test appservice, then acting as themselves) sending over the
 * client-server API. The source homeserver of `ferry ingest matrix` tests and its benchmark.
 */
import type { SynapseHandle } from './synapse.js';

export class SourceUser {
  private txn = 0;

  constructor(
    readonly baseUrl: string,
    readonly token: string,
    readonly userId: string,
  ) {}

  static async register(synapse: SynapseHandle, localpart: string): Promise<SourceUser> {
    const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/register`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${synapse.registration.as_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ type: 'm.login.application_service', username: localpart }),
    });
    const body = (await res.json()) as { user_id: string; access_token: string };
    if (!res.ok) throw new Error(`register ${localpart}: ${res.status} ${JSON.stringify(body)}`);
    return new SourceUser(synapse.baseUrl, body.access_token, body.user_id);
  }

  async api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  async createRoom(options: Record<string, unknown>): Promise<string> {
    return (await this.api('POST', '/_matrix/client/v3/createRoom', options))['room_id'] as string;
  }

  async join(roomId: string): Promise<void> {
    await this.api('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {});
  }

  async invite(roomId: string, userId: string): Promise<void> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`;
    await this.api('POST', path, { user_id: userId });
  }

  async send(roomId: string, type: string, content: unknown): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/t${Date.now()}-${++this.txn}`;
    return (await this.api('PUT', path, content))['event_id'] as string;
  }

  text(roomId: string, body: string, extra: Record<string, unknown> = {}): Promise<string> {
    return this.send(roomId, 'm.room.message', { msgtype: 'm.text', body, ...extra });
  }

  async state(roomId: string, type: string, content: unknown, stateKey = ''): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`;
    return (await this.api('PUT', path, content))['event_id'] as string;
  }

  async redact(roomId: string, eventId: string, reason: string): Promise<string> {
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/redact/${encodeURIComponent(eventId)}/r${++this.txn}`;
    return (await this.api('PUT', path, { reason }))['event_id'] as string;
  }

  async upload(bytes: Uint8Array, contentType: string, filename: string): Promise<string> {
    const res = await fetch(
      `${this.baseUrl}/_matrix/media/v3/upload?filename=${encodeURIComponent(filename)}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': contentType },
        body: bytes,
      },
    );
    const body = (await res.json()) as { content_uri: string };
    if (!res.ok) throw new Error(`upload: ${res.status}`);
    return body.content_uri;
  }

  /** The room's whole timeline as this user sees it, oldest first. */
  async timeline(roomId: string): Promise<Record<string, unknown>[]> {
    const events: Record<string, unknown>[] = [];
    let from: string | undefined;
    for (;;) {
      const q = new URLSearchParams({
        dir: 'f',
        limit: '500',
        ...(from === undefined ? {} : { from }),
      });
      const page = await this.api(
        'GET',
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q.toString()}`,
      );
      const chunk = page['chunk'] as Record<string, unknown>[];
      events.push(...chunk);
      if (typeof page['end'] !== 'string' || chunk.length === 0) return events;
      from = page['end'];
    }
  }
}
