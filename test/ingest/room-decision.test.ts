/**
 * A room that several ingests describe (two exports of one workspace here) takes its name, kind
 * and members from the newest of them (its latest event), not from whichever ran last, and
 * `ferry plan` says which source decided.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases.js';
import { copyFixture, readJson, writeJson } from '../support/fixture-copy.js';
import { writeFerryConfig } from '../support/migration.js';
import { runCli } from '../support/run-cli.js';
import { sharedSynapse, type SynapseHandle } from '../support/synapse.js';

const MODERN = 'test/fixtures/slack/modern';

interface Channel {
  id: string;
  name: string;
  members: string[] | null;
}

/** The modern export a month later: #general renamed, Zoe gone, #café-été made private. */
function newerExport(): string {
  const dir = copyFixture(MODERN);
  const channels = readJson(join(dir, 'channels.json')) as Channel[];
  const general = channels.find((c) => c.id === 'C01GENERAL') as Channel;
  general.name = 'all-hands';
  general.members = ['U01ALICE', 'U01BOB'];
  const cafe = channels.find((c) => c.id === 'C01CAFE') as Channel;
  writeJson(
    join(dir, 'channels.json'),
    channels.filter((c) => c !== cafe),
  );
  writeJson(join(dir, 'groups.json'), [...(readJson(join(dir, 'groups.json')) as object[]), cafe]);
  // Slack names a channel's folder after its current name.
  renameSync(join(dir, 'general'), join(dir, 'all-hands'));
  writeJson(join(dir, 'all-hands', '2024-04-01.json'), [
    { type: 'message', user: 'U01ALICE', text: 'a month later', ts: '1711929600.000100' },
  ]);
  return dir;
}

describe('a room described by several ingests', () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let synapse: SynapseHandle;
  let newer: string;
  const ferry = (...args: string[]) => runCli(['--database', db.url, ...args]);

  beforeAll(async () => {
    db = await createPostgresDatabase();
    synapse = await sharedSynapse();
    newer = newerExport();
    const first = await ferry('ingest', 'slack', newer, '--json');
    expect(first.code, first.stderr).toBe(0);
    const second = await ferry('ingest', 'slack', MODERN, '--json');
    expect(second.code, second.stderr).toBe(0);
  }, 240_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('takes name, kind and members from the newest export, whichever ran last', async () => {
    const { default: knex } = await import('knex');
    const k = knex({ client: 'pg', connection: db.url });
    try {
      const rooms = (await k('rooms')
        .whereIn('key', ['slack:C01GENERAL', 'slack:C01CAFE'])
        .orderBy('key')
        .select('key', 'name', 'kind', 'members')) as {
        key: string;
        name: string;
        kind: string;
        members: string[];
      }[];
      expect(rooms).toEqual([
        { key: 'slack:C01CAFE', name: 'café-été', kind: 'private', members: [] },
        {
          key: 'slack:C01GENERAL',
          name: 'all-hands',
          kind: 'channel',
          members: ['slack:U01ALICE', 'slack:U01BOB'],
        },
      ]);
    } finally {
      await k.destroy();
    }
  });

  it('adds and changes nothing when the older export is ingested again', async () => {
    const again = await ferry('ingest', 'slack', MODERN, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({
      added: { rooms: 0 },
      updated: { rooms: 0 },
    });
  });

  it('plan shows which source decided each room', async () => {
    const config = writeFerryConfig(synapse);
    const r = await ferry('--config', config, 'plan', '--json');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as {
      rooms: {
        list: {
          room: string;
          name: string | null;
          kind: string;
          decided_by: { source: string; input: string; latest_event: string; sources: number };
        }[];
      };
    };
    const general = plan.rooms.list.find((x) => x.room === 'slack:C01GENERAL');
    expect(general).toMatchObject({
      name: 'all-hands',
      kind: 'channel',
      decided_by: {
        source: 'slack:T01TEAM',
        input: newer,
        latest_event: '2024-04-01T00:00:00.000Z',
        sources: 1, // both exports are of the one workspace
      },
    });
    const text = await ferry('--config', config, 'plan');
    expect(text.stdout).toMatch(/slack:C01GENERAL .*all-hands.*decided by .*modern.*2024-04-01/);
  });
});
