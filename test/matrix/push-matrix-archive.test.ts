/**
 * A matrix-archive JSON export (naive Berlin timestamps, localpart senders) and the raw-events
 * file of the same room, merged in the store and pushed into a real Synapse: each original
 * event lands once, as its ghost, at its original time; relations point at the new event IDs;
 * undecryptable events are not posted; `ferry verify` agrees.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase } from '../support/databases.js';
import {
  AdminReader,
  TEST_PREFIX,
  writeFerryConfig,
  type ReadEvent,
} from '../support/migration.js';
import { runCli } from '../support/run-cli.js';
import { startSynapse, type SynapseHandle } from '../support/synapse.js';

const DIR = 'test/fixtures/matrix-archive';
const EXPORT = `${DIR}/export.json`;
const RAW = `${DIR}/Reef Survey_!reef:example.org.json`;

/** The raw file holds two JSON arrays written back to back; `][` only occurs between them. */
function rawEvents(): { event_id: string; type: string; origin_server_ts: number }[] {
  const text = readFileSync(RAW, 'utf8');
  return text
    .split(/\]\s*\[/)
    .flatMap(
      (part, i, all) =>
        JSON.parse((i === 0 ? '' : '[') + part + (i === all.length - 1 ? '' : ']')) as ReturnType<
          typeof rawEvents
        >,
    );
}

describe('a matrix-archive dump pushed into a real Synapse', () => {
  let synapse: SynapseHandle;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let rooms: Awaited<ReturnType<AdminReader['rooms']>>;
  let room: ReadEvent[];
  const ferry = (config: string, ...args: string[]) =>
    runCli(['--config', config, '--database', db.url, ...args]);
  const ghost = (local: string) =>
    `@${TEST_PREFIX}matrix_${local}_example.org:${synapse.serverName}`;

  beforeAll(async () => {
    synapse = await startSynapse();
    db = await createPostgresDatabase();
    const config = writeFerryConfig(synapse);
    const exported = await ferry(
      config,
      'ingest',
      'matrix-archive',
      EXPORT,
      '--server-name',
      'example.org',
      '--timezone',
      'Europe/Berlin',
      '--json',
    );
    expect(exported.code, exported.stderr).toBe(0);
    const raw = await ferry(config, 'ingest', 'matrix-archive', RAW, '--json');
    expect(raw.code, raw.stderr).toBe(0);
    const push = await ferry(config, 'push', '--json');
    expect(push.code, push.stderr + push.stdout).toBe(0);
    const reader = new AdminReader(synapse);
    rooms = await reader.rooms();
    room = await reader.timeline(
      await reader.roomIdOfAlias(`${TEST_PREFIX}matrix_reef_example.org`),
    );
    const verify = await ferry(config, 'verify', '--json');
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await synapse?.stop();
    await db?.drop();
  });

  const provenanceOf = (e: ReadEvent) =>
    e.content['ferry.source'] as { key: string; part: number } | undefined;
  /** The migrated event of an original event ID (part 0). */
  const migrated = (oldId: string): ReadEvent => {
    const found = room.filter((e) => {
      const p = provenanceOf(e);
      return p?.key === `matrix:${oldId}` && p.part === 0;
    });
    expect(found, `events migrated from ${oldId}`).toHaveLength(1);
    return found[0]!;
  };
  const relation = (e: ReadEvent) =>
    e.content['m.relates_to'] as
      { rel_type?: string; event_id?: string; 'm.in_reply_to'?: { event_id: string } } | undefined;

  it('makes one room, the one of the dump', () => {
    const ours = rooms.filter((r) => r.canonical_alias?.startsWith(`#${TEST_PREFIX}`));
    expect(ours.map((r) => r.canonical_alias)).toEqual([
      `#${TEST_PREFIX}matrix_reef_example.org:${synapse.serverName}`,
    ]);
  });

  it('posts each original event once, as its ghost', () => {
    const keys = room
      .map(provenanceOf)
      .filter((p) => p !== undefined)
      .map((p) => `${p.key}#${p.part}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const id of ['$e1', '$e2', '$e3', '$e4', '$e8', '$e9', '$e6', '$e5', '$r1']) migrated(id);
    expect(migrated('$e1').sender).toBe(ghost('alice'));
    expect(migrated('$e2').sender).toBe(ghost('bob'));
    expect(migrated('$e5').sender).toBe(ghost('carol'));
    expect(migrated('$r1').sender).toBe(ghost('bob'));
    expect(migrated('$e1').content.body).toBe('Hello, reef team!');
    expect(migrated('$e5').content.msgtype).toBe('m.emote');
  });

  it('keeps the original times (the export’s naive Berlin times converted to UTC)', () => {
    // `2018-07-23T14:05:12.345000` (CEST) and `2018-12-24T10:30:00.250000` (CET) in the export.
    expect(migrated('$e1').origin_server_ts).toBe(Date.UTC(2018, 6, 23, 12, 5, 12, 345));
    expect(migrated('$e5').origin_server_ts).toBe(Date.UTC(2018, 11, 24, 9, 30, 0, 250));
    // Every migrated event of the raw file carries that file's origin_server_ts.
    const raw = rawEvents();
    let checked = 0;
    for (const e of room) {
      const p = provenanceOf(e);
      if (p === undefined || !p.key.startsWith('matrix:$')) continue;
      const original = raw.find((r) => `matrix:${r.event_id}` === p.key);
      if (original === undefined) continue;
      expect(e.origin_server_ts, p.key).toBe(original.origin_server_ts);
      checked += 1;
    }
    expect(checked).toBeGreaterThanOrEqual(9);
  });

  it('points the reply, the edit, the thread and the reaction at the new event IDs', () => {
    const image = migrated('$e3');
    const reply = relation(migrated('$e4'));
    expect(reply?.['m.in_reply_to']?.event_id).toBe(image.event_id);
    const edit = relation(migrated('$e8'));
    expect(edit).toMatchObject({ rel_type: 'm.replace', event_id: migrated('$e1').event_id });
    expect(migrated('$e8').content['m.new_content']).toMatchObject({
      body: 'Hello, reef team! 🐠',
    });
    expect(relation(migrated('$e9'))).toMatchObject({
      rel_type: 'm.thread',
      event_id: migrated('$e2').event_id,
    });
    expect(relation(migrated('$r1'))).toMatchObject({
      rel_type: 'm.annotation',
      event_id: migrated('$e1').event_id,
      key: '👍',
    });
    // No relation points at an old (source) event ID.
    for (const e of room) expect(relation(e)?.event_id ?? '').not.toMatch(/^\$(e|r)\d+$/);
  });

  it('never posts the undecryptable or the redacted event', () => {
    const keys = room.map((e) => provenanceOf(e)?.key);
    expect(keys).not.toContain('matrix:$enc');
    expect(keys).not.toContain('matrix:$e10');
    expect(room.some((e) => e.type === 'm.room.encrypted')).toBe(false);
    expect(JSON.stringify(room)).not.toContain('AwgAEnAc');
  });
});
