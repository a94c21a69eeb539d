/**
 * Synthetic *modern* Slack export ("All channels and conversations" flavour) for benchmarks.
 *
 * Layout and message shapes follow docs/source-formats.md §1.2–§1.9: users.json (people,
 * deleted users, guests, admins, bot users), channels.json, groups.json, mpims.json, dms.json,
 * integration_logs.json, canvases.json, and one folder per conversation with day files of
 * 100–300 messages, pretty-printed with four spaces as Slack does.
 *
 * Messages: `ts` strings with microseconds (about 2 % share a millisecond with the previous
 * message), mentions, links, channel mentions and entity escapes in `text`, a `rich_text`
 * block mirroring the text on about half of the human messages, threads (roots with
 * `reply_count`/`reply_users`/`latest_reply`/`replies`, replies landing in later day files,
 * `thread_broadcast`s, a few tombstone roots and orphan replies), reactions (with skin tones
 * and truncated user lists), files (hosted, images, and `hidden_by_limit` stubs), bot
 * messages with `bot_id` (known and unknown bots), `channel_join`s, edits, external users
 * known only by their `user_profile` snapshot, and a few pins.
 *
 * Deterministic: the same options give a byte-identical zip (seeded PRNG, fixed mtimes).
 * Streaming: the zip is written with yazl; each day file is generated only when yazl is ready
 * to write it, so memory holds one day file plus small per-conversation state.
 *
 * CLI: npx tsx bench/generate-slack-export.ts --messages 100000 --out /tmp/x.zip [--seed 1]
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import yazl from 'yazl';

export interface GenerateOptions {
  /** Total number of message objects across all day files. */
  messages: number;
  /** Output zip path. */
  out: string;
  seed?: number;
  /** Entries of users.json (default 500). */
  users?: number;
  /** About one conversation per this many messages (default 2000), at least `minConversations`. */
  messagesPerConversation?: number;
  /** Default 50. */
  minConversations?: number;
}

/** Bump when the generator's output changes, so that cached exports are not reused. */
export const GENERATOR_VERSION = 1;

export interface GenerateResult {
  path: string;
  bytes: number;
  messages: number;
  conversations: number;
  dayFiles: number;
  users: number;
  /** Generation wall time. */
  ms: number;
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: small, fast, good enough for test data. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stateless hash of a few integers to [0, 2^32). */
function hash(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(list: readonly T[]): T {
    const v = list[Math.floor(this.next() * list.length)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.next() * 16).toString(16);
    return s;
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-a${this.hex(3)}-${this.hex(12)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Vocabulary

const WORDS = (
  'the a deploy release build ticket review merge branch staging production customer meeting ' +
  'tomorrow today later quick question about dashboard metrics latency error budget on-call ' +
  'incident postmortem rollback feature flag migration database index query cache queue worker ' +
  'design doc draft feedback please thanks agreed sounds good ship it looks great lunch coffee ' +
  'sprint planning retro demo roadmap estimate blocker fixed broken flaky test pipeline green ' +
  'red alert pager config secret rotate certificate expired renew invoice contract legal ' +
  'hiring interview candidate onboarding laptop vpn access request approved done wip hmm ok'
).split(' ');
const FIRST =
  'ada alan grace linus barbara ken dennis margaret edsger donald frances john radia whitfield tim vint sophie hedy katherine annie'.split(
    ' ',
  );
const LAST =
  'lovelace turing hopper torvalds liskov thompson ritchie hamilton dijkstra knuth allen backus perlman diffie berners-lee cerf wilson lamarr johnson easley'.split(
    ' ',
  );
const REACTIONS = [
  '+1',
  'heart',
  'tada',
  'eyes',
  'joy',
  'white_check_mark',
  'rocket',
  'pray',
  'fire',
  '100',
  'thinking_face',
  'raised_hands',
  '+1::skin-tone-2',
  'wave::skin-tone-4',
  'clap::skin-tone-5',
  'muscle::skin-tone-3',
  'partyparrot',
  'shipit',
];
const EMOJI = [
  'tada',
  'rocket',
  'sweat_smile',
  'white_check_mark',
  'thumbsup',
  'eyes',
  'wave::skin-tone-2',
];
const DOMAINS = [
  'github.com/acme/api/pull',
  'ci.example.com/run',
  'docs.example.org/page',
  'jira.example.net/browse/OPS-',
];
const FILE_KINDS = [
  { ext: 'png', mimetype: 'image/png', filetype: 'png', pretty: 'PNG', image: true },
  { ext: 'jpg', mimetype: 'image/jpeg', filetype: 'jpg', pretty: 'JPEG', image: true },
  { ext: 'pdf', mimetype: 'application/pdf', filetype: 'pdf', pretty: 'PDF', image: false },
  { ext: 'txt', mimetype: 'text/plain', filetype: 'text', pretty: 'Plain Text', image: false },
  { ext: 'zip', mimetype: 'application/zip', filetype: 'zip', pretty: 'Zip', image: false },
] as const;

const TEAM = 'T0BENCH0001';
const pad36 = (n: number, width: number) => n.toString(36).toUpperCase().padStart(width, '0');
const userId = (i: number) => `U0${pad36(i, 9)}`;
const externalUserId = (i: number) => `U9${pad36(i, 9)}`;
const botIdOf = (i: number) => `B0${pad36(i, 9)}`;
const unknownBotId = (i: number) => `B9${pad36(i, 9)}`;
const DAY_SECONDS = 86_400;
/** 2021-01-04 00:00 UTC, in days since the epoch. */
const FIRST_DAY = Math.floor(Date.UTC(2021, 0, 4) / 1000 / DAY_SECONDS);

type JsonObject = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Users

interface UserInfo {
  id: string;
  name: string;
  realName: string;
  displayName: string;
  deleted: boolean;
  isBot: boolean;
  botId?: string;
}

function makeUsers(count: number, rng: Rng): { infos: UserInfo[]; json: JsonObject[] } {
  const infos: UserInfo[] = [];
  const json: JsonObject[] = [];
  for (let i = 0; i < count; i++) {
    const id = userId(i + 1);
    const isBot = i % 40 === 7; // 2.5 %
    const deleted = !isBot && i % 20 === 3; // 5 %
    const guest = !isBot && i % 25 === 11;
    const first = rng.pick(FIRST);
    const last = rng.pick(LAST);
    const name = isBot ? `${rng.pick(WORDS)}-bot-${i}` : `${first}.${last}${i}`;
    const realName = isBot ? `${rng.pick(WORDS)} bot` : `${cap(first)} ${cap(last)}`;
    const displayName = isBot || rng.chance(0.3) ? '' : `${first}${i}`;
    const botId = isBot ? botIdOf(i + 1) : undefined;
    const avatarHash = rng.hex(12);
    const image = (size: number) =>
      `https://avatars.slack-edge.com/2021-01-04/${id}_${avatarHash}_${size}.png`;
    const profile: JsonObject = {
      title: isBot ? '' : rng.pick(['Engineer', 'Designer', 'PM', 'SRE', '']),
      phone: '',
      skype: '',
      real_name: realName,
      real_name_normalized: realName,
      display_name: displayName,
      display_name_normalized: displayName,
      fields: null,
      status_text: rng.chance(0.2) ? 'In a meeting' : '',
      status_emoji: '',
      status_expiration: 0,
      avatar_hash: avatarHash,
      image_original: rng.chance(0.6) ? image(1024) : undefined,
      is_custom_image: true,
      first_name: isBot ? '' : cap(first),
      last_name: isBot ? '' : cap(last),
      image_24: image(24),
      image_32: image(32),
      image_48: image(48),
      image_72: image(72),
      image_192: image(192),
      image_512: image(512),
      image_1024: image(1024),
      status_text_canonical: '',
      team: TEAM,
    };
    if (!isBot && !deleted) profile.email = `${name}@example.com`;
    if (isBot) {
      profile.bot_id = botId;
      profile.api_app_id = `A0${pad36(i, 9)}`;
      profile.always_active = true;
    }
    const user: JsonObject = {
      id,
      team_id: TEAM,
      name,
      deleted,
      color: rng.hex(6),
      real_name: deleted ? '' : realName,
      profile,
      is_admin: i % 50 === 0,
      is_owner: i === 0,
      is_primary_owner: i === 0,
      is_restricted: guest,
      is_ultra_restricted: guest && i % 2 === 0,
      is_bot: isBot,
      is_app_user: false,
      updated: 1_650_000_000 + i,
      is_email_confirmed: !isBot,
      who_can_share_contact_card: 'EVERYONE',
    };
    if (!deleted) {
      user.tz = 'Europe/Berlin';
      user.tz_label = 'Central European Time';
      user.tz_offset = 3600;
    }
    json.push(user);
    infos.push({ id, name, realName, displayName, deleted, isBot, botId });
  }
  return { infos, json };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

// ---------------------------------------------------------------------------------------------
// Conversations and the plan of day files

type ConvKind = 'channel' | 'private' | 'mpim' | 'dm';

interface Conversation {
  index: number;
  id: string;
  kind: ConvKind;
  name: string;
  folder: string;
  members: string[];
  /** Human members who post. */
  posters: UserInfo[];
  messages: number;
  dayCounts: number[];
  /** Index of the first message of each day. */
  dayStarts: number[];
  /** Days since the epoch of each day file. */
  dayEpochDays: number[];
}

function kindOf(i: number): ConvKind {
  const m = i % 20;
  if (m < 14) return 'channel';
  if (m < 17) return 'private';
  if (m < 19) return 'mpim';
  return 'dm';
}

function planConversations(
  total: number,
  count: number,
  users: UserInfo[],
  rng: Rng,
): Conversation[] {
  const humans = users.filter((u) => !u.isBot && !u.deleted);
  const weights: number[] = [];
  for (let i = 0; i < count; i++) {
    const k = kindOf(i);
    weights.push((0.5 + rng.float()) * (k === 'dm' || k === 'mpim' ? 0.3 : 1));
  }
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((total * w) / sum)));
  let excess = sizes.reduce((a, b) => a + b, 0) - total;
  for (let i = 0; excess !== 0; i = (i + 1) % count) {
    const s = sizes[i]!;
    if (excess > 0 && s > 1) {
      sizes[i] = s - 1;
      excess -= 1;
    } else if (excess < 0) {
      sizes[i] = s + 1;
      excess += 1;
    }
  }
  const convs: Conversation[] = [];
  const usedNames = new Set<string>();
  for (let i = 0; i < count; i++) {
    const kind = kindOf(i);
    let members: UserInfo[];
    if (kind === 'dm') members = pickDistinct(humans, 2, rng);
    else if (kind === 'mpim') members = pickDistinct(humans, rng.int(3, 6), rng);
    else members = pickDistinct(humans, Math.min(humans.length, rng.int(15, 120)), rng);
    let name: string;
    let id: string;
    if (kind === 'dm') {
      id = `D0${pad36(i + 1, 9)}`;
      name = id;
    } else if (kind === 'mpim') {
      id = `C1${pad36(i + 1, 9)}`;
      name = `mpdm-${members.map((m) => m.name).join('--')}-1`;
    } else {
      id = `${kind === 'private' ? 'G0' : 'C0'}${pad36(i + 1, 9)}`;
      name =
        i === 0 ? 'general' : `${rng.pick(WORDS)}-${rng.pick(WORDS)}`.replace(/[^a-z0-9-]/g, '');
      while (usedNames.has(name)) name = `${name}-${i}`;
    }
    usedNames.add(name);
    const messages = sizes[i]!;
    const dayCounts: number[] = [];
    for (let left = messages; left > 0;) {
      const n = Math.min(left, rng.int(100, 300));
      dayCounts.push(n);
      left -= n;
    }
    const dayStarts: number[] = [];
    const dayEpochDays: number[] = [];
    let day = FIRST_DAY + rng.int(0, 400);
    let start = 0;
    for (const n of dayCounts) {
      dayStarts.push(start);
      dayEpochDays.push(day);
      start += n;
      day += 1 + (rng.chance(0.3) ? rng.int(1, 3) : 0);
    }
    // Bots also post in channels; they need not be members.
    convs.push({
      index: i,
      id,
      kind,
      name,
      folder: kind === 'dm' ? id : name,
      members: members.map((m) => m.id),
      posters: members,
      messages,
      dayCounts,
      dayStarts,
      dayEpochDays,
    });
  }
  return convs;
}

function pickDistinct<T>(list: readonly T[], n: number, rng: Rng): T[] {
  const chosen = new Set<number>();
  const want = Math.min(n, list.length);
  while (chosen.size < want) chosen.add(Math.floor(rng.float() * list.length));
  return [...chosen].sort((a, b) => a - b).map((i) => list[i]!);
}

function conversationJson(c: Conversation, rng: Rng): JsonObject {
  const created =
    (c.dayEpochDays[0] ?? FIRST_DAY) * DAY_SECONDS - rng.int(DAY_SECONDS, 90 * DAY_SECONDS);
  if (c.kind === 'dm') return { id: c.id, created, members: c.members };
  const creator = c.members[0] ?? userId(1);
  const base: JsonObject = {
    id: c.id,
    name: c.name,
    created,
    creator,
    is_archived: c.index % 23 === 5,
    is_general: c.index === 0,
    members: c.members,
    topic: { value: c.kind === 'mpim' ? '' : `All about ${c.name}`, creator, last_set: created },
    purpose: {
      value:
        c.kind === 'mpim'
          ? `Group messaging with: ${c.members.map((m) => `@${m}`).join(' ')}`
          : `Talk about ${c.name.replace(/-/g, ' ')}`,
      creator,
      last_set: created,
    },
  };
  return base;
}

// ---------------------------------------------------------------------------------------------
// Messages

/** Microseconds since the epoch of message `i` of a conversation: a pure function of the plan. */
function tsMicros(c: Conversation, i: number, seed: number): number {
  const d = dayOf(c, i);
  const p = i - c.dayStarts[d]!;
  const n = c.dayCounts[d]!;
  // Messages of a day spread over 14 hours starting 08:00 UTC.
  const slot = Math.floor((14 * 3600 * 1_000_000) / n);
  if (p > 0 && isPair(c, i, seed) && !isPair(c, i - 1, seed)) {
    const prev = tsMicros(c, i - 1, seed);
    const room = 999 - (prev % 1000);
    if (room > 0) return prev + 1 + (hash(seed, c.index, i, 7) % room);
  }
  const base = (c.dayEpochDays[d]! * DAY_SECONDS + 8 * 3600) * 1_000_000 + p * slot;
  return base + (hash(seed, c.index, i, 3) % Math.floor(slot / 2));
}

/** About 2 % of messages share a millisecond with the one before. */
const isPair = (c: Conversation, i: number, seed: number) => hash(seed, c.index, i, 5) % 50 === 0;

function dayOf(c: Conversation, i: number): number {
  let lo = 0;
  let hi = c.dayStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (c.dayStarts[mid]! <= i) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const tsString = (micros: number) =>
  `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;

interface PendingReply {
  rootTs: string;
  rootUser: string;
  user: UserInfo;
}

interface Segment {
  kind: 'text' | 'user' | 'link' | 'channel' | 'emoji' | 'code';
  value: string;
  label?: string;
}

interface GenContext {
  seed: number;
  users: UserInfo[];
  bots: UserInfo[];
  conversations: Conversation[];
  /** Targets of channel mentions. */
  publicChannels: Conversation[];
  nextFile: number;
}

/** Generates the day files of one conversation, in order. */
class ConversationWriter {
  private readonly rng: Rng;
  private readonly pending = new Map<number, PendingReply>();
  private next = 0;

  constructor(
    private readonly c: Conversation,
    private readonly ctx: GenContext,
  ) {
    this.rng = new Rng(hash(ctx.seed, c.index, 0x5eed));
  }

  dayFile(d: number): Buffer {
    const start = this.c.dayStarts[d]!;
    const n = this.c.dayCounts[d]!;
    if (start !== this.next)
      throw new Error(`day files of ${this.c.folder} generated out of order`);
    const messages: JsonObject[] = [];
    for (let i = start; i < start + n; i++) messages.push(this.message(i));
    this.next = start + n;
    return Buffer.from(JSON.stringify(messages, null, 4));
  }

  private ts(i: number): string {
    return tsString(tsMicros(this.c, i, this.ctx.seed));
  }

  private message(i: number): JsonObject {
    const rng = this.rng;
    const c = this.c;
    const ts = this.ts(i);
    const reply = this.pending.get(i);
    if (reply !== undefined) {
      this.pending.delete(i);
      const m = this.humanMessage(ts, reply.user, false);
      m.thread_ts = reply.rootTs;
      m.parent_user_id = reply.rootUser;
      if (rng.chance(0.05)) m.subtype = 'thread_broadcast';
      return m;
    }
    const r = rng.float();
    if ((i === 0 || r < 0.02) && c.kind !== 'dm' && c.kind !== 'mpim') {
      const who = rng.pick(c.posters);
      const m: JsonObject = {
        type: 'message',
        subtype: 'channel_join',
        ts,
        user: who.id,
        text: `<@${who.id}> has joined the channel`,
      };
      if (rng.chance(0.3)) m.inviter = rng.pick(c.posters).id;
      return m;
    }
    if (r < 0.06 && c.kind !== 'dm') return this.botMessage(ts);
    // Human message; 2 % from external users only known by their profile snapshot.
    const external = rng.chance(0.02);
    const author = external ? this.externalUser(rng.int(1, 40)) : rng.pick(c.posters);
    if (rng.chance(0.003)) {
      // An orphan reply: its root is older than the export.
      const m = this.humanMessage(ts, author, external);
      const rootMicros = tsMicros(c, i, this.ctx.seed) - 400 * DAY_SECONDS * 1_000_000;
      m.thread_ts = tsString(rootMicros);
      m.parent_user_id = rng.pick(c.posters).id;
      return m;
    }
    if (rng.chance(0.06) && i < c.messages - 2) return this.threadRoot(i, ts, author, external);
    return this.humanMessage(ts, author, external);
  }

  private externalUser(n: number): UserInfo {
    const first = FIRST[n % FIRST.length]!;
    return {
      id: externalUserId(n),
      name: `${first}.partner${n}`,
      realName: `${cap(first)} Partner`,
      displayName: `${first}-partner`,
      deleted: false,
      isBot: false,
    };
  }

  private threadRoot(i: number, ts: string, author: UserInfo, external: boolean): JsonObject {
    const rng = this.rng;
    const c = this.c;
    const wanted = 1 + Math.floor(rng.float() ** 2 * 12);
    const replies: { index: number; user: UserInfo }[] = [];
    for (let k = 0; k < wanted; k++) {
      let at = i + 1 + Math.floor(rng.float() ** 1.5 * 500);
      while (at < c.messages && this.pending.has(at)) at += 1;
      if (at >= c.messages) continue;
      const user = rng.pick(c.posters);
      this.pending.set(at, { rootTs: ts, rootUser: author.id, user });
      replies.push({ index: at, user });
    }
    replies.sort((a, b) => a.index - b.index);
    let m: JsonObject;
    if (rng.chance(0.03)) {
      m = {
        type: 'message',
        subtype: 'tombstone',
        text: 'This message was deleted.',
        user: 'USLACKBOT',
        hidden: true,
        ts,
      };
    } else {
      m = this.humanMessage(ts, author, external);
    }
    m.thread_ts = ts;
    if (replies.length > 0) {
      const replyUsers = [...new Set(replies.map((r) => r.user.id))];
      m.reply_count = replies.length;
      m.reply_users_count = replyUsers.length;
      m.latest_reply = this.ts(replies[replies.length - 1]!.index);
      m.reply_users = replyUsers.slice(0, 5);
      m.replies = replies.map((r) => ({ user: r.user.id, ts: this.ts(r.index) }));
      m.is_locked = false;
      m.subscribed = false;
    }
    return m;
  }

  private humanMessage(ts: string, author: UserInfo, external: boolean): JsonObject {
    const rng = this.rng;
    const segments = this.segments();
    const m: JsonObject = {
      client_msg_id: rng.uuid(),
      type: 'message',
      text: segments.map(mrkdwnOf).join(''),
      user: author.id,
      ts,
      team: TEAM,
      user_team: TEAM,
      source_team: TEAM,
      user_profile: {
        avatar_hash: rng.hex(12),
        image_72: `https://avatars.slack-edge.com/2021-01-04/${author.id}_72.png`,
        first_name: author.realName.split(' ')[0] ?? '',
        real_name: author.realName,
        display_name: author.displayName,
        team: TEAM,
        name: author.name,
        is_restricted: external,
        is_ultra_restricted: false,
      },
    };
    if (rng.chance(0.5)) m.blocks = [richTextBlock(segments, rng.hex(5))];
    if (rng.chance(0.1)) {
      const [sec] = ts.split('.');
      m.edited = { user: author.id, ts: `${Number(sec) + rng.int(30, 7200)}.000000` };
    }
    if (rng.chance(0.05)) {
      const files = this.files(author);
      m.files = files;
      m.upload = rng.chance(0.5);
      m.display_as_bot = false;
      if (rng.chance(0.3)) {
        m.text = '';
        delete m.blocks;
      }
    }
    if (rng.chance(0.15)) m.reactions = this.reactions();
    if (rng.chance(0.003)) m.pinned_to = [this.c.id];
    return m;
  }

  private segments(): Segment[] {
    const rng = this.rng;
    const out: Segment[] = [];
    const words = rng.int(3, 40);
    let text: string[] = [];
    const flush = () => {
      if (text.length > 0) out.push({ kind: 'text', value: text.join(' ') + ' ' });
      text = [];
    };
    for (let w = 0; w < words; w++) {
      const r = rng.float();
      if (r < 0.012) {
        flush();
        out.push({ kind: 'user', value: rng.pick(this.c.posters).id });
      } else if (r < 0.02) {
        flush();
        const domain = rng.pick(DOMAINS);
        out.push({
          kind: 'link',
          value: `https://${domain}/${rng.int(1, 9999)}`,
          label: rng.chance(0.5) ? `#${rng.int(1, 9999)}` : undefined,
        });
      } else if (r < 0.023) {
        flush();
        const other = rng.pick(this.ctx.publicChannels);
        out.push({ kind: 'channel', value: other.id, label: other.name });
      } else if (r < 0.028) {
        flush();
        out.push({ kind: 'emoji', value: rng.pick(EMOJI) });
      } else if (r < 0.031) {
        flush();
        out.push({ kind: 'code', value: `${rng.pick(WORDS)} <${rng.pick(WORDS)}> & co` });
      } else if (r < 0.036) {
        text.push('&');
      } else {
        text.push(rng.pick(WORDS));
      }
    }
    flush();
    return out;
  }

  private files(author: UserInfo): JsonObject[] {
    const rng = this.rng;
    const n = rng.chance(0.15) ? rng.int(2, 4) : 1;
    const files: JsonObject[] = [];
    for (let k = 0; k < n; k++) {
      const id = `F0${pad36(++this.ctx.nextFile, 9)}`;
      if (rng.chance(0.3)) {
        files.push({ id, mode: 'hidden_by_limit' });
        continue;
      }
      const kind = rng.pick(FILE_KINDS);
      const name = `${rng.pick(WORDS)}-${rng.int(1, 999)}.${kind.ext}`;
      const url = `https://files.slack.com/files-pri/${TEAM}-${id}/${name}`;
      const created = 1_650_000_000 + rng.int(0, 10_000_000);
      const file: JsonObject = {
        id,
        created,
        timestamp: created,
        name,
        title: name,
        mimetype: kind.mimetype,
        filetype: kind.filetype,
        pretty_type: kind.pretty,
        user: author.id,
        user_team: TEAM,
        editable: false,
        size: rng.int(1_000, 5_000_000),
        mode: 'hosted',
        is_external: false,
        external_type: '',
        is_public: this.c.kind === 'channel',
        public_url_shared: false,
        display_as_bot: false,
        username: '',
        url_private: `${url}?t=xoxe-bench-token`,
        url_private_download: `https://files.slack.com/files-pri/${TEAM}-${id}/download/${name}?t=xoxe-bench-token`,
        media_display_type: 'unknown',
        permalink: `https://bench.slack.com/files/${author.id}/${id}/${name}`,
        permalink_public: `https://slack-files.com/${TEAM}-${id}-${rng.hex(10)}`,
        is_starred: false,
        has_rich_preview: false,
        file_access: 'visible',
      };
      if (kind.image) {
        const w = rng.int(200, 4000);
        const h = rng.int(200, 3000);
        file.original_w = w;
        file.original_h = h;
        for (const s of [64, 80, 360, 480, 720])
          file[`thumb_${s}`] = `${url.replace(name, '')}${s}.png?t=xoxe-bench-token`;
        file.thumb_tiny = 'AwAwADDTooooAKKKKACiiigAooooAKKKKACiiigD/9k=';
      }
      files.push(file);
    }
    return files;
  }

  private reactions(): JsonObject[] {
    const rng = this.rng;
    const n = rng.int(1, 3);
    const names = new Set<string>();
    while (names.size < n) names.add(rng.pick(REACTIONS));
    return [...names].map((name) => {
      const users = pickDistinct(this.c.posters, rng.int(1, 4), rng).map((u) => u.id);
      const truncated = rng.chance(0.05);
      return { name, users, count: users.length + (truncated ? rng.int(1, 20) : 0) };
    });
  }

  private botMessage(ts: string): JsonObject {
    const rng = this.rng;
    const known = rng.chance(0.6) && this.ctx.bots.length > 0;
    const bot = known ? rng.pick(this.ctx.bots) : undefined;
    const botId = bot?.botId ?? unknownBotId(rng.int(1, 8));
    const username = bot?.name ?? rng.pick(['github', 'jenkins', 'pagerduty', 'jira', 'statusbot']);
    const title = `${rng.pick(WORDS)} ${rng.pick(WORDS)} #${rng.int(1, 9999)}`;
    const m: JsonObject = {
      type: 'message',
      subtype: 'bot_message',
      text: rng.chance(0.3)
        ? ''
        : `${cap(rng.pick(WORDS))} &amp; ${rng.pick(WORDS)}: <https://ci.example.com/run/${rng.int(1, 99999)}|${title}>`,
      ts,
      bot_id: botId,
      username,
      icons: {
        image_48: `https://avatars.slack-edge.com/bots/${botId}_48.png`,
        image_72: `https://avatars.slack-edge.com/bots/${botId}_72.png`,
      },
    };
    if (bot !== undefined && rng.chance(0.5)) m.user = bot.id;
    if (rng.chance(0.6)) {
      m.attachments = [
        {
          id: 1,
          color: rng.pick(['36a64f', 'ff0000', 'daa038']),
          fallback: `${title}: ${rng.pick(WORDS)}`,
          title,
          title_link: `https://ci.example.com/run/${rng.int(1, 99999)}`,
          text: `${rng.pick(WORDS)} ${rng.pick(WORDS)} *${rng.pick(WORDS)}*`,
          footer: username,
          ts: Number(ts.split('.')[0]),
          mrkdwn_in: ['text'],
        },
      ];
    } else if (rng.chance(0.5)) {
      m.blocks = [
        {
          type: 'section',
          block_id: rng.hex(4),
          text: {
            type: 'mrkdwn',
            text: `*${title}* is ${rng.pick(['green', 'red'])}`,
            verbatim: false,
          },
        },
        {
          type: 'context',
          block_id: rng.hex(4),
          elements: [{ type: 'plain_text', text: username, emoji: true }],
        },
      ];
    }
    if (rng.chance(0.1)) m.reactions = this.reactions();
    return m;
  }
}

const escapeMrkdwn = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function mrkdwnOf(s: Segment): string {
  switch (s.kind) {
    case 'text':
      return escapeMrkdwn(s.value);
    case 'user':
      return `<@${s.value}> `;
    case 'link':
      return s.label === undefined ? `<${s.value}> ` : `<${s.value}|${s.label}> `;
    case 'channel':
      return `<#${s.value}|${s.label ?? ''}> `;
    case 'emoji':
      return `:${s.value}: `;
    case 'code':
      return `\`${escapeMrkdwn(s.value)}\` `;
  }
}

function richTextBlock(segments: Segment[], blockId: string): JsonObject {
  const elements: JsonObject[] = [];
  for (const s of segments) {
    switch (s.kind) {
      case 'text':
        elements.push({ type: 'text', text: s.value });
        break;
      case 'user':
        elements.push({ type: 'user', user_id: s.value }, { type: 'text', text: ' ' });
        break;
      case 'link':
        elements.push(
          s.label === undefined
            ? { type: 'link', url: s.value }
            : { type: 'link', url: s.value, text: s.label },
          { type: 'text', text: ' ' },
        );
        break;
      case 'channel':
        elements.push({ type: 'channel', channel_id: s.value }, { type: 'text', text: ' ' });
        break;
      case 'emoji': {
        const [name, tone] = s.value.split('::skin-tone-');
        elements.push(
          tone === undefined
            ? { type: 'emoji', name }
            : { type: 'emoji', name, skin_tone: Number(tone) },
          { type: 'text', text: ' ' },
        );
        break;
      }
      case 'code':
        elements.push(
          { type: 'text', text: s.value, style: { code: true } },
          { type: 'text', text: ' ' },
        );
        break;
    }
  }
  return {
    type: 'rich_text',
    block_id: blockId,
    elements: [{ type: 'rich_text_section', elements }],
  };
}

// ---------------------------------------------------------------------------------------------
// The zip

const MTIME = new Date(Date.UTC(2024, 0, 1));

export async function generateSlackExport(options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const seed = options.seed ?? 1;
  const total = Math.max(1, Math.floor(options.messages));
  const rng = new Rng(hash(seed, 0xbeef));
  const { infos, json: usersJson } = makeUsers(options.users ?? 500, rng);
  const count = Math.max(
    options.minConversations ?? 50,
    Math.ceil(total / (options.messagesPerConversation ?? 2000)),
  );
  const conversations = planConversations(total, count, infos, rng);
  const ctx: GenContext = {
    seed,
    users: infos,
    bots: infos.filter((u) => u.isBot),
    conversations,
    publicChannels: conversations.filter((c) => c.kind === 'channel').slice(0, 50),
    nextFile: 0,
  };

  const zip = new yazl.ZipFile();
  const add = (path: string, data: string | Buffer) =>
    zip.addBuffer(typeof data === 'string' ? Buffer.from(data) : data, path, { mtime: MTIME });
  const pretty = (v: unknown) => JSON.stringify(v, null, 4);
  add('users.json', pretty(usersJson));
  const byKind = (k: ConvKind) =>
    conversations.filter((c) => c.kind === k).map((c) => conversationJson(c, rng));
  add('channels.json', pretty(byKind('channel')));
  add('groups.json', pretty(byKind('private')));
  add('mpims.json', pretty(byKind('mpim')));
  add('dms.json', pretty(byKind('dm')));
  add(
    'integration_logs.json',
    pretty(
      ctx.bots.slice(0, 10).map((b, i) => ({
        user_id: userId(1),
        user_name: 'admin',
        date: String(1_640_000_000 + i * 1000),
        change_type: 'added',
        app_id: `A0${pad36(i, 9)}`,
        app_type: 'app',
        scope: 'chat:write',
        service_type: b.name,
      })),
    ),
  );
  add('canvases.json', pretty([]));

  let dayFiles = 0;
  for (const c of conversations) {
    const writer = new ConversationWriter(c, ctx);
    c.dayEpochDays.forEach((epochDay, d) => {
      const date = new Date(epochDay * DAY_SECONDS * 1000).toISOString().slice(0, 10);
      dayFiles += 1;
      // yazl calls this when it is ready to write the entry, strictly in the order added.
      zip.addReadStreamLazy(`${c.folder}/${date}.json`, { mtime: MTIME }, (cb) => {
        try {
          cb(null, Readable.from([writer.dayFile(d)]));
        } catch (e) {
          cb(e, Readable.from([]));
        }
      });
    });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(options.out));
  const { size } = await stat(options.out);
  return {
    path: options.out,
    bytes: size,
    messages: total,
    conversations: conversations.length,
    dayFiles,
    users: infos.length,
    ms: performance.now() - started,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '100000' },
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      users: { type: 'string', default: '500' },
    },
  });
  if (values.out === undefined) {
    process.stderr.write(
      'usage: generate-slack-export.ts --messages N --out export.zip [--seed S] [--users U]\n',
    );
    process.exit(2);
  }
  const result = await generateSlackExport({
    messages: Number(values.messages),
    out: values.out,
    seed: Number(values.seed),
    users: Number(values.users),
  });
  process.stdout.write(
    `${result.path}: ${result.messages} messages, ${result.conversations} conversations, ` +
      `${result.dayFiles} day files, ${(result.bytes / 1e6).toFixed(1)} MB, ${(result.ms / 1000).toFixed(1)} s\n`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
