/**
 * Two overlapping Element exports of one room, merged in the store and pushed into a real
 * Synapse: relations point at the new event IDs, nothing is duplicated, junk is not posted.
 */
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
import {
  ENCRYPTED_ROOM_ID,
  encryptedExport,
  firstAsZip,
  SECOND,
  TINY_PNG,
} from '../sources/element/element-fixtures.js';

describe('Element exports pushed into a real Synapse', () => {
  let synapse: SynapseHandle;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let room: ReadEvent[];
  const ferry = (config: string, ...args: string[]) =>
    runCli(['--config', config, '--database', db.url, ...args]);
  const ghost = (local: string) =>
    `@${TEST_PREFIX}matrix_${local}_example.org:${synapse.serverName}`;

  beforeAll(async () => {
    synapse = await startSynapse();
    db = await createPostgresDatabase();
    const config = writeFerryConfig(synapse);
    const first = await ferry(
      config,
      'ingest',
      'element',
      await firstAsZip({ rootFolder: true }),
      '--json',
    );
    expect(first.code, first.stderr).toBe(0);
    const second = await ferry(config, 'ingest', 'element', SECOND, '--json');
    expect(second.code, second.stderr).toBe(0);
    const push = await ferry(config, 'push', '--json');
    expect(push.code, push.stderr + push.stdout).toBe(0);
    const reader = new AdminReader(synapse);
    room = await reader.timeline(
      await reader.roomIdOfAlias(`${TEST_PREFIX}matrix_ferry_example.org`),
    );
    const verify = await ferry(config, 'verify', '--json');
    expect(verify.code, verify.stdout).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await synapse?.stop();
    await db?.drop();
  });

  const messages = () => room.filter((e) => e.type === 'm.room.message');
  const byBody = (body: string) => {
    const e = messages().find((m) => m.content.body === body);
    if (e === undefined)
      throw new Error(
        `no message "${body}"; have ${messages()
          .map((m) => String(m.content.body))
          .join(' | ')}`,
      );
    return e;
  };

  it('posts each original event once, as its sender, at its time', () => {
    const provenance = room
      .map((e) => e.content['ferry.source'] as { key: string; part: number } | undefined)
      .filter((p) => p !== undefined);
    const keys = provenance.map((p) => `${p.key}#${p.part}`);
    expect(new Set(keys).size).toBe(keys.length);
    const hello = byBody('hello world');
    expect(hello.sender).toBe(ghost('alice'));
    expect(messages().filter((m) => m.content.body === 'hello world')).toHaveLength(1);
  });

  it('points replies, threads, edits and reactions at the new event IDs', () => {
    const hello = byBody('hello world');
    const reply = messages().find(
      (m) =>
        (m.content['m.relates_to'] as { 'm.in_reply_to'?: { event_id: string } } | undefined)?.[
          'm.in_reply_to'
        ]?.event_id === hello.event_id,
    );
    expect(reply).toBeDefined();
    const root = byBody('Shall we sail?');
    const threaded = messages().filter(
      (m) =>
        (m.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined)
          ?.rel_type === 'm.thread',
    );
    expect(threaded.length).toBeGreaterThanOrEqual(2);
    for (const t of threaded)
      expect((t.content['m.relates_to'] as { event_id: string }).event_id).toBe(root.event_id);
    const reaction = room.find((e) => e.type === 'm.reaction');
    expect((reaction?.content['m.relates_to'] as { event_id: string }).event_id).toBe(
      hello.event_id,
    );
    const edit = messages().find(
      (m) =>
        (m.content['m.relates_to'] as { rel_type?: string } | undefined)?.rel_type === 'm.replace',
    );
    const original = byBody('teh plan');
    expect((edit?.content['m.relates_to'] as { event_id: string }).event_id).toBe(
      original.event_id,
    );
  });

  it('never posts undecryptable events', () => {
    expect(JSON.stringify(room)).not.toContain('Unable to decrypt');
    expect(room.some((e) => e.type === 'm.room.encrypted')).toBe(false);
  });

  it('uploads attachments from the zip', () => {
    const image = messages().find((m) => m.content.msgtype === 'm.image');
    expect(String(image?.content.url)).toMatch(/^mxc:\/\//);
  });

  describe('an encrypted room', () => {
    let secret: ReadEvent[];
    let encryptedDb: Awaited<ReturnType<typeof createPostgresDatabase>>;
    let summary: { undecryptable: Record<string, Record<string, number>> };
    beforeAll(async () => {
      encryptedDb = await createPostgresDatabase();
      const config = writeFerryConfig(synapse);
      const run = (...args: string[]) =>
        runCli(['--config', config, '--database', encryptedDb.url, ...args]);
      const ingest = await run('ingest', 'element', encryptedExport(), '--json');
      expect(ingest.code, ingest.stderr).toBe(0);
      summary = JSON.parse(ingest.stdout) as typeof summary;
      const push = await run('push', '--json');
      expect(push.code, push.stderr + push.stdout).toBe(0);
      const reader = new AdminReader(synapse);
      secret = await reader.timeline(
        await reader.roomIdOfAlias(`${TEST_PREFIX}matrix_secret_example.org`),
      );
    }, 240_000);
    afterAll(async () => {
      await encryptedDb?.drop();
    });

    it('uploads the decrypted file the export holds and posts a plain m.image', async () => {
      const image = secret.find((e) => e.content.msgtype === 'm.image');
      expect(image?.content).toMatchObject({ body: 'boat.png', info: { mimetype: 'image/png' } });
      expect(image?.content.file).toBeUndefined();
      const mxc = /^mxc:\/\/([^/]+)\/(.+)$/.exec(String(image?.content.url));
      expect(mxc?.[1]).toBe(synapse.serverName);
      const res = await fetch(
        `${synapse.baseUrl}/_matrix/client/v1/media/download/${mxc?.[1]}/${mxc?.[2]}`,
        { headers: { Authorization: `Bearer ${synapse.adminToken}` } },
      );
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(TINY_PNG)).toBe(true);
    });

    it('posts nothing for the encrypted file the export lacks, and counts it for its room', () => {
      expect(JSON.stringify(secret)).not.toContain('lost.png');
      expect(secret.some((e) => e.content.body === 'see above')).toBe(true);
      expect(summary.undecryptable).toEqual({
        [`matrix:${ENCRYPTED_ROOM_ID}`]: { attachment_not_in_export: 1 },
      });
    });
  });
});
