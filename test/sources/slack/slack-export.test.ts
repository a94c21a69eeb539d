import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { FileEvent, MessageEvent, ReactionEvent } from '../../../src/model/index.js';
import { openArchive } from '../../../src/archive/archive-reader.js';
import { slackExportItems } from '../../../src/sources/slack/index.js';
import { readSlackExport } from '../../../src/sources/slack/slack-export.js';
import { collect } from '../../support/collect.js';
import { zipFolder } from '../../support/zip-folder.js';
import { sharedFixture } from '../../support/shared-fixtures.js';

const MODERN = 'test/fixtures/slack/modern';
const GRID = 'test/fixtures/slack/grid';
const LEGACY_ZIP = sharedFixture('slack/testarchive-2016.zip');

const key = (channel: string, ts: string) => `slack:${channel}:${ts}`;

describe('Slack adapter on the modern fixture', () => {
  let r: Awaited<ReturnType<typeof collect>>;
  beforeAll(async () => {
    r = await collect(slackExportItems(MODERN));
  });

  it('identifies the workspace from the users’ team', () => {
    const source = r.all.find((i) => i.type === 'source');
    expect(source).toMatchObject({ source: { key: 'slack:T01TEAM', kind: 'slack' } });
  });

  it('reads every conversation kind with the right flags', () => {
    const byKey = new Map<string, (typeof r.rooms)[number]>(
      r.rooms.map((room) => [room.key, room]),
    );
    expect(byKey.get('slack:C01GENERAL')).toMatchObject({
      kind: 'channel',
      isGeneral: true,
      parent: 'slack:space:T01TEAM',
    });
    expect(byKey.get('slack:C01CAFE')).toMatchObject({
      kind: 'channel',
      name: 'café-été',
      isArchived: true,
      members: [],
    });
    expect(byKey.get('slack:C01CAFE')?.createdAt).toBe(1709251000000); // string `created`
    expect(byKey.get('slack:G01SECRET')).toMatchObject({ kind: 'private', name: 'secret-plans' });
    expect(byKey.get('slack:D01AB')).toMatchObject({
      kind: 'dm',
      members: ['slack:U01ALICE', 'slack:U01BOB'],
    });
    expect(byKey.get('slack:D01AB')?.parent).toBeUndefined();
    // A self-DM lists the user twice; the room has one member and a placeholder `created` is dropped.
    expect(byKey.get('slack:D01SELF')).toMatchObject({
      kind: 'dm',
      members: ['slack:U01ALICE'],
      createdAt: undefined,
    });
    expect(byKey.get('slack:C01MPIM')).toMatchObject({
      kind: 'group_dm',
      name: 'mpdm-alice--bob--zoe-1',
    });
    expect(byKey.get('slack:space:T01TEAM')).toMatchObject({ kind: 'space' });
  });

  it('names users by the documented precedence, keeps deleted users and adds placeholders', () => {
    const byKey = new Map<string, (typeof r.users)[number]>(r.users.map((u) => [u.key, u]));
    expect(byKey.get('slack:U01ALICE')).toMatchObject({
      displayName: 'alice',
      email: 'alice@example.org',
      isAdmin: true,
    });
    expect(byKey.get('slack:U01BOB')?.displayName).toBe('Bob Builder');
    expect(byKey.get('slack:U01CAROL')).toMatchObject({
      displayName: 'Carol Gone',
      isDeleted: true,
      isPlaceholder: false,
    });
    expect(byKey.get('slack:U01ZOE')?.displayName).toBe('zoë');
    expect(byKey.get('slack:U01GHOST')).toMatchObject({
      displayName: 'ghost',
      isPlaceholder: true,
      realName: 'Ghost External',
    });
    expect(byKey.get('slack:bot:B09JIRA')).toMatchObject({
      displayName: 'Jira Cloud',
      isBot: true,
      isPlaceholder: true,
    });
    expect(byKey.get('slack:USLACKBOT')).toMatchObject({ displayName: 'Slackbot', isBot: true });
    expect(r.users.filter((u) => u.key === 'slack:U01ALICE')).toHaveLength(1);
  });

  it('orders two messages of the same millisecond by their microseconds, whatever the array order', () => {
    const first = r.event(key('C01GENERAL', '1709251300.000300'));
    const second = r.event(key('C01GENERAL', '1709251300.000301'));
    expect(first.ts).toBe(second.ts);
    expect(first.order < second.order).toBe(true);
    const generalOrders = r.events.filter((e) => e.room === 'slack:C01GENERAL').map((e) => e.order);
    expect(new Set(generalOrders).size).toBe(generalOrders.length);
  });

  it('links thread replies to their root across day files and writes a broadcast once', () => {
    const root = key('C01GENERAL', '1709251400.000400');
    expect(r.event(key('C01GENERAL', '1709251410.000500')).thread).toEqual({
      root,
      broadcast: false,
    });
    expect(r.event(key('C01GENERAL', '1709337600.000100')).thread).toEqual({
      root,
      broadcast: false,
    });
    const broadcasts = r.events.filter((e) => e.key === key('C01GENERAL', '1709251420.000600'));
    expect(broadcasts).toHaveLength(1);
    expect(broadcasts[0]?.thread).toEqual({ root, broadcast: true });
    expect(r.skips.filter((s) => s.reason === 'duplicate')).toHaveLength(1);
    expect(r.event(root).thread).toBeUndefined();
  });

  it('keeps a tombstone root so its replies attach, and reports replies without a root', () => {
    const tomb = r.event(key('C01GENERAL', '1709337700.000200')) as MessageEvent;
    expect(tomb).toMatchObject({ kind: 'message', tombstone: true, sender: 'slack:USLACKBOT' });
    expect(r.event(key('C01GENERAL', '1709337710.000300')).thread?.root).toBe(tomb.key);
    expect(r.losses.filter((l) => l.reason === 'thread_root_missing')).toEqual([
      expect.objectContaining({ count: 1 }),
    ]);
  });

  it('turns reactions into one event per user, skin tones kept, truncation reported', () => {
    const target = key('C01GENERAL', '1709251260.000200');
    const reactions = r.events.filter(
      (e): e is ReactionEvent => e.kind === 'reaction' && e.target === target,
    );
    expect(reactions.map((e) => [e.sender, e.reaction])).toEqual([
      ['slack:U01BOB', { format: 'slack-shortcode', name: '+1::skin-tone-3' }],
      ['slack:U01ZOE', { format: 'slack-shortcode', name: '+1::skin-tone-3' }],
      ['slack:U01BOB', { format: 'slack-shortcode', name: 'tada' }],
    ]);
    for (const reaction of reactions) expect(reaction.order > r.event(target).order).toBe(true);
    expect(r.losses.find((l) => l.reason === 'reaction_users_truncated')?.count).toBe(4);
  });

  it('keeps text, blocks, the edited marker and message types', () => {
    const edited = r.event(key('C01GENERAL', '1709251260.000200')) as MessageEvent;
    expect(edited.content).toMatchObject({
      format: 'slack-mrkdwn',
      text: expect.stringContaining('&amp;'),
    });
    expect(edited.content.format === 'slack-mrkdwn' && edited.content.blocks?.length).toBe(1);
    expect(edited.edited).toEqual({ at: 1709251270000, by: 'slack:U01ALICE' });
    expect(r.event(key('C01GENERAL', '1709251520.000900'))).toMatchObject({
      kind: 'message',
      msgtype: 'emote',
    });
    expect(r.event(key('C01GENERAL', '1709251500.000700'))).toMatchObject({
      kind: 'message',
      msgtype: 'notice',
      sender: 'slack:U01BOT1',
      senderNameOverride: 'deploybot',
    });
    expect(r.event(key('C01GENERAL', '1709251510.000800'))).toMatchObject({
      msgtype: 'notice',
      sender: 'slack:bot:B09JIRA',
    });
    expect(r.event(key('C01CAFE', '1709251600.000100'))).toMatchObject({
      content: { text: 'Ça va ? 日本語 :wave::skin-tone-2:' },
    });
  });

  it('maps files with and without bodies and keys a file-only message like the message', () => {
    const media = new Map(r.media.map((m) => [m.nativeId, m]));
    expect(media.get('F01IMG')).toMatchObject({
      availability: 'available',
      localPath: '__uploads/F01IMG/screen shot.png',
      width: 640,
    });
    expect(media.get('F01HIDDEN')).toMatchObject({ availability: 'hidden_by_limit' });
    expect(media.get('F01PDF')).toMatchObject({ availability: 'available', localPath: undefined });
    const fileOnly = r.event(key('C01GENERAL', '1709251540.001100')) as FileEvent;
    expect(fileOnly).toMatchObject({ kind: 'file', media: 'slack:F01PDF' });
    const withText = r.events.filter((e) => e.nativeId.startsWith('1709251530.001000'));
    expect(withText.map((e) => e.kind)).toEqual(['message', 'file', 'file']);
    expect(r.losses.map((l) => l.reason)).toEqual(
      expect.arrayContaining(['file_hidden_by_limit', 'file_body_not_in_export']),
    );
  });

  it('maps system subtypes to membership and room state, and skips the rest with reasons', () => {
    expect(r.event(key('C01GENERAL', '1709251200.000100'))).toMatchObject({
      kind: 'membership',
      membership: 'join',
      target: 'slack:U01ALICE',
    });
    expect(r.event(key('C01GENERAL', '1709337730.000500'))).toMatchObject({
      kind: 'membership',
      membership: 'leave',
    });
    expect(r.event(key('C01GENERAL', '1709251560.001300'))).toMatchObject({
      kind: 'room_state',
      change: { field: 'topic', topic: 'New topic' },
    });
    expect(r.event(key('C01GENERAL', '1709337750.000700'))).toMatchObject({
      change: { field: 'name', name: 'general', previous: 'town-square' },
    });
    expect(r.event(key('C01CAFE', '1709251700.000200'))).toMatchObject({
      change: { field: 'archived', archived: true },
    });
    expect(r.event(key('G01SECRET', '1709251600.000100'))).toMatchObject({
      change: { field: 'purpose', purpose: 'Shh' },
    });
    const reasons = r.skips.map((s) => s.reason).sort();
    expect(reasons).toEqual([
      'duplicate',
      'empty_message',
      'integration_log',
      'invalid_sender',
      'unlisted_conversation',
      'unsupported_entry',
      'unsupported_entry',
    ]);
  });

  it('records pins from channels.json and from pinned_to', () => {
    const pins = r.events.filter((e) => e.kind === 'pin');
    expect(pins.map((p) => (p.kind === 'pin' ? p.target : ''))).toEqual(
      expect.arrayContaining([
        key('C01GENERAL', '1709251260.000200'),
        key('C01GENERAL', '1709251570.001400'),
      ]),
    );
  });

  it('reads the same export zipped (no UTF-8 flag, wrapper folder) identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-slack-'));
    const zip = await zipFolder(MODERN, join(dir, 'export.zip'), { wrapper: 'My Export' });
    const zipped = await collect(slackExportItems(zip));
    expect(zipped.events.map((e) => e.key)).toEqual(r.events.map((e) => e.key));
    expect(zipped.rooms.find((x) => x.key === 'slack:C01CAFE')?.name).toBe('café-été');
  });
});

describe('Slack adapter on the Enterprise Grid layout', () => {
  it('reads org-level and per-workspace conversations, keyed by ID', async () => {
    const r = await collect(slackExportItems(GRID));
    expect(r.all.find((i) => i.type === 'source')).toMatchObject({
      source: { key: 'slack:E01ORG' },
    });
    const spaces = r.rooms.filter((room) => room.kind === 'space');
    expect(spaces.map((s) => s.key).sort()).toEqual([
      'slack:space:E01ORG',
      'slack:space:E01ORG:alpha',
      'slack:space:E01ORG:beta',
    ]);
    const alpha = r.rooms.find((room) => room.key === 'slack:C02ALPHA');
    const beta = r.rooms.find((room) => room.key === 'slack:C02BETA');
    expect(alpha).toMatchObject({ name: 'general', parent: 'slack:space:E01ORG:alpha' });
    expect(beta).toMatchObject({ name: 'general', parent: 'slack:space:E01ORG:beta' });
    expect(
      r.events.map((e) => [
        e.room,
        e.kind === 'message' && e.content.format === 'slack-mrkdwn' ? e.content.text : '',
      ]),
    ).toEqual([
      ['slack:D02AB', 'org-level DM'],
      ['slack:C02ALPHA', 'hello alpha'],
      ['slack:C02BETA', 'hello beta'],
    ]);
    expect(r.users).toHaveLength(2); // listed in org_users.json and both workspaces, emitted once
  });
});

describe('Slack adapter on the real 2016 export', () => {
  it('maps all 158 message objects: 155 events plus 3 skipped integration logs', async () => {
    const r = await collect(slackExportItems(LEGACY_ZIP));
    const kinds: Record<string, number> = {};
    for (const e of r.events) {
      const k = e.kind === 'message' ? `message:${e.msgtype}` : e.kind;
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    expect(kinds).toEqual({
      'message:text': 53,
      'message:notice': 94,
      membership: 8,
      file: 3,
      reaction: 1,
    });
    expect(r.skips.filter((s) => s.reason === 'integration_log')).toHaveLength(3);
    expect(
      r.rooms
        .filter((room) => room.kind === 'channel')
        .map((room) => room.name)
        .sort(),
    ).toEqual(['enrique', 'traveling-sailor']);
    expect(r.users.filter((u) => !u.isPlaceholder)).toHaveLength(4);
    const comment = r.events.find((e) => e.kind === 'message' && e.subtype === 'file_comment');
    expect(comment).toBeDefined();
  });
});

describe('Slack adapter reading ahead', () => {
  it('reads only a few day files beyond where the consumer stopped', async () => {
    const reader = await openArchive(MODERN);
    const dayFiles = reader.entries().filter((e) => /\/\d{4}-\d{2}-\d{2}\.json$/.test(e.path));
    expect(dayFiles.length).toBeGreaterThan(5);
    const read: string[] = [];
    const readBuffer = reader.readBuffer.bind(reader);
    reader.readBuffer = (path: string) => {
      read.push(path);
      return readBuffer(path);
    };
    try {
      for await (const item of readSlackExport(reader)) {
        if (item.type === 'progress') break; // the first day file is done
      }
    } finally {
      await reader.close();
    }
    // The first file and at most 2 read ahead: stopping does not read the rest.
    const days = read.filter((p) => dayFiles.some((e) => e.path === p));
    expect(days.length).toBeGreaterThanOrEqual(1);
    expect(days.length).toBeLessThanOrEqual(3);
  });
});
