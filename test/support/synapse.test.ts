// Runs against a real Synapse started by scripts/synapse.sh (no mocks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import pg from 'pg';
import { createPostgresDatabase } from './databases.js';
import { sharedSynapse, startSynapse, type SynapseHandle } from './synapse.js';

let hs: SynapseHandle;
beforeAll(async () => {
  hs = await startSynapse();
});
afterAll(async () => {
  await hs?.stop();
});

async function call(
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${hs.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const registerAs = (username: string) =>
  call('POST', '/_matrix/client/v3/register', hs.registration.as_token, {
    type: 'm.login.application_service',
    username,
    inhibit_login: true,
  });

describe('Synapse test harness', () => {
  it('answers /versions on loopback', async () => {
    expect(hs.baseUrl).toBe(`http://127.0.0.1:${hs.port}`);
    const res = await fetch(`${hs.baseUrl}/_matrix/client/versions`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { versions: string[] };
    expect(body.versions.length).toBeGreaterThan(0);
  });

  it('registers a user through the application service, once', async () => {
    const first = await registerAs('_ferry_alice');
    expect(first.status).toBe(200);
    expect(first.json.user_id).toBe('@_ferry_alice:ferry.test');

    const again = await registerAs('_ferry_alice');
    expect(again.status).toBe(400);
    expect(again.json.errcode).toBe('M_USER_IN_USE');

    const who = await call(
      'GET',
      `/_matrix/client/v3/account/whoami?user_id=${encodeURIComponent('@_ferry_alice:ferry.test')}`,
      hs.registration.as_token,
    );
    expect(who.status).toBe(200);
    expect(who.json.user_id).toBe('@_ferry_alice:ferry.test');
  });

  it('refuses AS registrations outside the namespace', async () => {
    const outside = await registerAs('mallory');
    expect(outside.status).toBe(400);
    expect(outside.json.errcode).toBe('M_EXCLUSIVE');
  });

  it('gives a working admin token', async () => {
    const version = await call('GET', '/_synapse/admin/v1/server_version', hs.adminToken);
    expect(version.status).toBe(200);
    expect(version.json.server_version).toMatch(/^1\.163\.2/);

    const admin = await call('GET', '/_synapse/admin/v2/users/@admin:ferry.test', hs.adminToken);
    expect(admin.status).toBe(200);
    expect(admin.json.admin).toBe(true);
  });

  it('keeps its data across restart()', async () => {
    await hs.restart();
    const who = await call(
      'GET',
      `/_matrix/client/v3/account/whoami?user_id=${encodeURIComponent('@_ferry_alice:ferry.test')}`,
      hs.registration.as_token,
    );
    expect(who.status).toBe(200);
    const version = await call('GET', '/_synapse/admin/v1/server_version', hs.adminToken);
    expect(version.status).toBe(200);
  });
});

describe('sharedSynapse', () => {
  it('starts one homeserver per process and hands out the same one', async () => {
    const [a, b] = await Promise.all([sharedSynapse(), sharedSynapse()]);
    expect(a).toBe(b);
    expect(a.dir).not.toBe(hs.dir);
    const res = await fetch(`${a.baseUrl}/_matrix/client/versions`);
    expect(res.status).toBe(200);
  });

  it('keeps its own data in PostgreSQL when given a database URL', async () => {
    const db = await createPostgresDatabase({ synapse: true });
    const onPg = await startSynapse({ databaseUrl: db.url });
    try {
      const res = await fetch(`${onPg.baseUrl}/_matrix/client/v3/createRoom`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${onPg.adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: 'stored in postgres' }),
      });
      expect(res.status).toBe(200);
      const { room_id: roomId } = (await res.json()) as { room_id: string };
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const rooms = await client.query<{ room_id: string }>('select room_id from rooms');
        expect(rooms.rows.map((r) => r.room_id)).toContain(roomId);
      } finally {
        await client.end();
      }
    } finally {
      await onPg.stop();
      await db.drop();
    }
  });
});
