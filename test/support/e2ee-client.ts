/**
 * A real end-to-end-encrypting Matrix client for tests: the rust crypto stack Element uses
 * (@matrix-org/matrix-sdk-crypto-wasm's OlmMachine, in memory) driven over the client-server
 * API of a real Synapse. It uploads device keys, creates encrypted rooms, shares and rotates
 * megolm sessions, sends encrypted messages and attachments, and exports its room keys with the
 * library's own key-export writer.
 */
import * as wasm from '@matrix-org/matrix-sdk-crypto-wasm';

export interface E2eeClientOptions {
  baseUrl: string;
  /** An appservice token: the user is registered in its namespace. */
  asToken: string;
  localpart: string;
  serverName: string;
}

export class E2eeClient {
  private txn = 0;

  private constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    readonly userId: string,
    private readonly machine: wasm.OlmMachine,
  ) {}

  static async register(opts: E2eeClientOptions): Promise<E2eeClient> {
    await wasm.initAsync();
    const res = await fetch(`${opts.baseUrl}/_matrix/client/v3/register`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.asToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'm.login.application_service', username: opts.localpart }),
    });
    const body = (await res.json()) as { user_id: string; access_token: string; device_id: string };
    if (!res.ok) throw new Error(`register: ${res.status} ${JSON.stringify(body)}`);
    const machine = await wasm.OlmMachine.initialize(
      new wasm.UserId(body.user_id),
      new wasm.DeviceId(body.device_id),
    );
    const client = new E2eeClient(opts.baseUrl, body.access_token, body.user_id, machine);
    await client.machine.updateTrackedUsers([new wasm.UserId(body.user_id)]);
    await client.flush();
    return client;
  }

  async api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Sends every request the OlmMachine has queued (key upload, query, claim, to-device). */
  async flush(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const requests = await this.machine.outgoingRequests();
      if (requests.length === 0) return;
      for (const r of requests) await this.send(r);
    }
  }

  private async send(r: wasm.OutgoingRequest): Promise<void> {
    const cs = '/_matrix/client/v3';
    let response: Record<string, unknown>;
    if (r instanceof wasm.KeysUploadRequest)
      response = await this.api('POST', `${cs}/keys/upload`, r.body);
    else if (r instanceof wasm.KeysQueryRequest)
      response = await this.api('POST', `${cs}/keys/query`, r.body);
    else if (r instanceof wasm.KeysClaimRequest)
      response = await this.api('POST', `${cs}/keys/claim`, r.body);
    else if (r instanceof wasm.ToDeviceRequest) {
      const path = `${cs}/sendToDevice/${encodeURIComponent(r.event_type)}/${encodeURIComponent(r.txn_id)}`;
      response = await this.api('PUT', path, r.body);
    } else if (r instanceof wasm.SignatureUploadRequest) {
      response = await this.api('POST', `${cs}/keys/signatures/upload`, r.body);
    } else {
      return; // backups and room messages are not queued by what these tests do
    }
    await this.machine.markRequestAsSent(r.id as string, r.type, JSON.stringify(response));
  }

  async createEncryptedRoom(name: string): Promise<string> {
    const res = await this.api('POST', '/_matrix/client/v3/createRoom', {
      name,
      preset: 'private_chat',
      initial_state: [
        {
          type: 'm.room.encryption',
          state_key: '',
          content: { algorithm: 'm.megolm.v1.aes-sha2' },
        },
      ],
    });
    return res['room_id'] as string;
  }

  /**
   * Encrypts and sends one event. `rotateEvery` is the megolm rotation period in messages, so a
   * room's history spans several sessions.
   */
  async sendEncrypted(
    roomId: string,
    type: string,
    content: unknown,
    rotateEvery = 100,
  ): Promise<string> {
    const room = new wasm.RoomId(roomId);
    const settings = new wasm.EncryptionSettings();
    settings.rotationPeriodMessages = BigInt(rotateEvery);
    const toDevice = await this.machine.shareRoomKey(
      room,
      [new wasm.UserId(this.userId)],
      settings,
    );
    for (const r of toDevice) await this.send(r);
    const encrypted = await this.machine.encryptRoomEvent(room, type, JSON.stringify(content));
    const path = `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.encrypted/t${++this.txn}`;
    return (await this.api('PUT', path, encrypted))['event_id'] as string;
  }

  /** Encrypts `bytes` as an attachment, uploads the ciphertext, returns the event's `file`. */
  async uploadEncrypted(bytes: Uint8Array): Promise<Record<string, unknown>> {
    const attachment = wasm.Attachment.encrypt(bytes);
    const info = JSON.parse(attachment.mediaEncryptionInfo ?? '{}') as Record<string, unknown>;
    const res = await fetch(`${this.baseUrl}/_matrix/media/v3/upload`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token}`,
        'content-type': 'application/octet-stream',
      },
      body: attachment.encryptedData,
    });
    const body = (await res.json()) as { content_uri: string };
    if (!res.ok) throw new Error(`upload: ${res.status}`);
    return { ...info, url: body.content_uri };
  }

  async download(mxc: string): Promise<Buffer> {
    const path = mxc.replace(/^mxc:\/\//, '');
    const res = await fetch(`${this.baseUrl}/_matrix/client/v1/media/download/${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    if (!res.ok) throw new Error(`download ${mxc}: ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** The room's whole timeline, oldest first, as the server sends it. */
  async timeline(roomId: string): Promise<Record<string, unknown>[]> {
    const events: Record<string, unknown>[] = [];
    let from: string | undefined;
    for (;;) {
      const q = new URLSearchParams({
        dir: 'f',
        limit: '100',
        ...(from === undefined ? {} : { from }),
      });
      const page = await this.api(
        'GET',
        `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/messages?${q.toString()}`,
      );
      events.push(...(page['chunk'] as Record<string, unknown>[]));
      if (typeof page['end'] !== 'string' || (page['chunk'] as unknown[]).length === 0)
        return events;
      from = page['end'];
    }
  }

  /** The library's own key export: the JSON of every session `keep` accepts, encrypted. */
  async exportRoomKeys(
    passphrase: string,
    keep: (sessionId: string) => boolean,
    rounds = 10_000,
  ): Promise<string> {
    const json = await this.machine.exportRoomKeys((s) => keep(s.sessionId));
    return wasm.OlmMachine.encryptExportedRoomKeys(json, passphrase, rounds);
  }

  close(): void {
    this.machine.close();
  }
}
