/**
 * Identity and room mapping against a real Synapse: explicit lists, email matches to existing
 * accounts, a room mapped to an existing one; `ferry plan` shows it all and writes nothing.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases.js';
import { AdminReader, slackGhost, TEST_PREFIX, writeFerryConfig } from '../support/migration.js';
import { runCli } from '../support/run-cli.js';
import { startSynapse, type SynapseHandle } from '../support/synapse.js';

const MODERN = 'test/fixtures/slack/modern';

describe('identity and room mapping', () => {
  let synapse: SynapseHandle;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let config: string;
  let existingRoom: string;
  const alice = () => `@alice:${synapse.serverName}`;
  const bob = () => `@bob:${synapse.serverName}`;
  const ferry = (...args: string[]) =>
    runCli(['--config', config, '--database', db.url, ...args], {
      FERRY_ADMIN_TOKEN: synapse.adminToken,
    });

  async function admin(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const res = await fetch(`${synapse.baseUrl}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${synapse.adminToken}`,
        'Content-Type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  }

  beforeAll(async () => {
    synapse = await startSynapse({ claimLocalUsers: true });
    db = await createPostgresDatabase();
    // Existing people: Alice is found by her email, Bob by an explicit mapping.
    await admin('PUT', `/_synapse/admin/v2/users/${encodeURIComponent(alice())}`, {
      displayname: 'Alice Real',
      threepids: [{ medium: 'email', address: 'alice@example.org' }],
    });
    await admin('PUT', `/_synapse/admin/v2/users/${encodeURIComponent(bob())}`, {
      displayname: 'Bob Real',
    });
    existingRoom = String(
      (
        await admin('POST', '/_matrix/client/v3/createRoom', {
          preset: 'public_chat',
          room_alias_name: 'cafe',
          name: 'Existing café',
        })
      ).room_id,
    );
    config = writeFerryConfig(
      synapse,
      {},
      {
        identity: { users: { U01BOB: bob() }, matchEmails: true },
        rooms: { C01CAFE: `#cafe:${synapse.serverName}` },
      },
    );
    const ingest = await ferry('ingest', 'slack', MODERN, '--json');
    expect(ingest.code, ingest.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await synapse?.stop();
    await db?.drop();
  });

  it('plan shows the mapping and what would be created, and writes nothing', async () => {
    const roomsBefore = (await new AdminReader(synapse).rooms()).length;
    const r = await ferry('plan', '--json');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      users: {
        list: { user: string; mxid: string; origin: string; create: boolean }[];
        by_origin: Record<string, number>;
      };
      rooms: { list: { room: string; action: string; target: string }[]; to_create: number };
      events: { to_send: number };
      eta: { status: string; pending_events: number; reason?: string };
    };
    // No push has run yet: no rate to estimate from.
    expect(plan.eta).toEqual({
      status: 'unknown',
      pending_events: 37,
      reason: 'no push has finished yet',
    });
    const byUser = new Map(plan.users.list.map((u) => [u.user, u]));
    expect(byUser.get('slack:U01ALICE')).toMatchObject({
      mxid: alice(),
      origin: 'email',
      create: false,
    });
    expect(byUser.get('slack:U01BOB')).toMatchObject({
      mxid: bob(),
      origin: 'explicit',
      create: false,
    });
    expect(byUser.get('slack:U01ZOE')).toMatchObject({
      mxid: slackGhost(synapse, 'U01ZOE'),
      origin: 'ghost',
      create: true,
    });
    const byRoom = new Map(plan.rooms.list.map((x) => [x.room, x]));
    expect(byRoom.get('slack:C01CAFE')).toMatchObject({
      action: 'use_existing',
      target: `#cafe:${synapse.serverName}`,
    });
    expect(byRoom.get('slack:C01GENERAL')).toMatchObject({ action: 'create' });
    expect(plan.rooms.to_create).toBe(6);
    expect(plan.events.to_send).toBe(37);
    // Nothing written: no new rooms, no ghost registered, nothing in the store's push tables.
    expect((await new AdminReader(synapse).rooms()).length).toBe(roomsBefore);
    const ghost = await fetch(
      `${synapse.baseUrl}/_synapse/admin/v2/users/${encodeURIComponent(slackGhost(synapse, 'U01ZOE'))}`,
      {
        headers: { Authorization: `Bearer ${synapse.adminToken}` },
      },
    );
    expect(ghost.status).toBe(404);
  });

  it('push writes as the mapped accounts without touching their profiles, into the mapped room', async () => {
    const push = await ferry('push', '--json');
    expect(push.code, push.stderr + push.stdout).toBe(0);
    const reader = new AdminReader(synapse);
    const general = await reader.timeline(
      await reader.roomIdOfAlias(`${TEST_PREFIX}slack_c01general`),
    );
    const thread = general.find(
      (e) => e.type === 'm.room.message' && e.content.body === 'Thread root',
    );
    expect(thread?.sender).toBe(alice());
    const reply = general.find((e) => e.type === 'm.room.message' && e.content.body === 'a reply');
    expect(reply?.sender).toBe(bob());
    expect((await reader.user(alice())).displayname).toBe('Alice Real');
    expect((await reader.user(bob())).displayname).toBe('Bob Real');
    const cafe = await reader.timeline(existingRoom);
    expect(
      cafe.some((e) => e.type === 'm.room.message' && String(e.content.body).startsWith('Ça va')),
    ).toBe(true);
    const verify = await ferry('verify', '--json');
    expect(verify.code, verify.stdout).toBe(0);
  });

  it("reactions on a real user's message carry no m.mentions and notify her of nothing", async () => {
    const reader = new AdminReader(synapse);
    const general = await reader.timeline(
      await reader.roomIdOfAlias(`${TEST_PREFIX}slack_c01general`),
    );
    const reactions = general.filter((e) => e.type === 'm.reaction');
    expect(reactions.length).toBeGreaterThan(0);
    for (const r of reactions) expect(r.content).not.toHaveProperty('m.mentions');
    // What Alice's client sees: her notification list (every event a push rule notified her of).
    const login = await admin(
      'POST',
      `/_synapse/admin/v1/users/${encodeURIComponent(alice())}/login`,
      {},
    );
    const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/notifications?limit=100`, {
      headers: { Authorization: `Bearer ${String(login.access_token)}` },
    });
    expect(res.status).toBe(200);
    const { notifications } = (await res.json()) as {
      notifications: { event: { type: string; event_id: string } }[];
    };
    const reactionIds = new Set(reactions.map((r) => r.event_id));
    expect(notifications.filter((n) => reactionIds.has(n.event.event_id))).toEqual([]);
  });

  it('a finished push records its rate, and plan reports nothing left to send', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows: runs } = await client
      .query<{ store_events: string; matrix_events: string; duration_ms: string }>(
        'select store_events, matrix_events, duration_ms from matrix_push_runs',
      )
      .finally(() => client.end());
    expect(runs).toHaveLength(1);
    expect(Number(runs[0]!.store_events)).toBe(37);
    expect(Number(runs[0]!.matrix_events)).toBeGreaterThanOrEqual(37);
    expect(Number(runs[0]!.duration_ms)).toBeGreaterThan(0);
    const r = await ferry('plan');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ETA: nothing left to send');
  });
});
