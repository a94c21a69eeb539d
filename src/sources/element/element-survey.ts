/**
 * First pass over an Element export: what the room and its people look like, before any
 * event is yielded.
 *
 * The export has no room ID, member list or room kind at its top level (§2.4), and a user's
 * name is only in their membership events, which can come anywhere. Reading the document
 * once for these facts lets the adapter yield one complete room record and one record per
 * user ahead of the events, as the SourceItem contract asks. Only per-user facts are kept,
 * so memory grows with the number of people, not of events.
 */
import type { RoomKind, RoomRecord, SourceKey, UserRecord } from '../../model/index.js';
import {
  isMatrixUserId,
  matrixLocalpart,
  matrixRoomKey,
  matrixUserKey,
} from '../../model/matrix-keys.js';
import type { ElementAttachments } from './element-attachments.js';
import { attachmentQueryOf, bundledEdit, eventHeader, threadRootOf } from './element-events.js';
import { nonEmpty, obj, str } from './json-guards.js';

interface UserFacts {
  displayName?: string;
  /** A membership event names the user (not a placeholder). */
  named: boolean;
  /** Their latest membership in the export. */
  membership?: string;
}

/** Latest value of a piece of room state, with the time it was set. */
interface Latest<T> {
  value: T;
  ts: number;
}

export class ElementSurvey {
  /** The room ID of the first event that has one. */
  roomId: string | undefined;
  /** Thread roots that replies in the export point at. */
  readonly threadRoots = new Set<string>();
  private readonly users = new Map<string, UserFacts>();
  private name: Latest<string> | undefined;
  private topic: Latest<string> | undefined;
  private joinRule: Latest<string> | undefined;
  private powerLevels: Latest<Map<string, number>> | undefined;
  private creation: { creator: string; ts: number } | undefined;
  private tombstoned = false;

  /** `attachments`, when the export has any, get every media event's vote. */
  constructor(private readonly attachments?: ElementAttachments) {}

  learn(raw: unknown): void {
    const h = eventHeader(raw);
    if (h === undefined) return;
    this.roomId ??= h.roomId;
    if (h.roomId !== undefined && h.roomId !== this.roomId) return;
    this.user(h.sender);
    const editor = str(bundledEdit(h)?.sender);
    if (editor !== undefined && isMatrixUserId(editor)) this.user(editor);
    if (h.redacted) return;
    const query = this.attachments === undefined ? undefined : attachmentQueryOf(h);
    if (query !== undefined) this.attachments?.vote(query);
    const root = threadRootOf(h.content ?? {});
    if (root !== undefined) this.threadRoots.add(root);

    const c = h.content ?? {};
    if (h.stateKey === undefined) return;
    switch (h.type) {
      case 'm.room.member': {
        if (!isMatrixUserId(h.stateKey)) return;
        const target = this.user(h.stateKey);
        target.named = true;
        target.membership = str(c.membership) ?? target.membership;
        const displayName = nonEmpty(c.displayname);
        if (displayName !== undefined) target.displayName = displayName.trim();
        return;
      }
      case 'm.room.name':
        if (h.stateKey === '') this.name = latest(this.name, str(c.name) ?? '', h.ts);
        return;
      case 'm.room.topic':
        if (h.stateKey === '') this.topic = latest(this.topic, str(c.topic) ?? '', h.ts);
        return;
      case 'm.room.join_rules': {
        const rule = str(c.join_rule);
        if (rule !== undefined) this.joinRule = latest(this.joinRule, rule, h.ts);
        return;
      }
      case 'm.room.power_levels': {
        const levels = new Map<string, number>();
        for (const [mxid, level] of Object.entries(obj(c.users) ?? {})) {
          const n = typeof level === 'number' ? level : undefined;
          if (n !== undefined) levels.set(mxid, n);
        }
        this.powerLevels = latest(this.powerLevels, levels, h.ts);
        return;
      }
      case 'm.room.create': {
        const creator = str(c.creator);
        this.creation = {
          creator: creator !== undefined && isMatrixUserId(creator) ? creator : h.sender,
          ts: h.ts,
        };
        return;
      }
      case 'm.room.tombstone':
        this.tombstoned = true;
        return;
      default:
        return;
    }
  }

  /** One record per person seen, in order of first appearance. */
  userRecords(source: SourceKey): UserRecord[] {
    const levels = this.powerLevels?.value;
    return [...this.users].map(([mxid, facts]) => ({
      key: matrixUserKey(mxid),
      source,
      nativeId: mxid,
      displayName: facts.displayName ?? matrixLocalpart(mxid),
      handle: matrixLocalpart(mxid),
      isBot: false,
      isDeleted: false,
      isPlaceholder: !facts.named,
      isAdmin: (levels?.get(mxid) ?? 0) >= 100,
    }));
  }

  /**
   * The room as the export leaves it. `meta.name`/`meta.topic` are the export's `room_name` and
   * `topic`: both are the state at export time, so they win over the latest state event.
   * `roomId` is the room the record is stored as (the canonical room when `meta.merged`: the
   * export's room is merged into another by the config). A merged room's tombstone does not
   * archive the room it merges into (an upgraded room's tombstone points at that very room).
   */
  roomRecord(
    source: SourceKey,
    roomId: string,
    meta: { name?: string; topic?: string; merged?: boolean },
  ): RoomRecord {
    const members = [...this.users].filter(([, f]) => f.membership === 'join');
    const present = [...this.users].filter(
      ([, f]) => f.membership === 'join' || f.membership === 'invite',
    );
    const named = nonEmpty(this.name?.value) !== undefined;
    const kind: RoomKind =
      present.length === 2 && !named
        ? 'dm'
        : this.joinRule?.value === 'public'
          ? 'channel'
          : 'private';
    const name = meta.name ?? nonEmpty(this.name?.value);
    const topic = meta.topic ?? nonEmpty(this.topic?.value);
    return {
      key: matrixRoomKey(roomId),
      source,
      nativeId: roomId,
      kind,
      ...(name === undefined ? {} : { name }),
      ...(topic === undefined ? {} : { topic }),
      ...(this.creation === undefined
        ? {}
        : { createdAt: this.creation.ts, creator: matrixUserKey(this.creation.creator) }),
      isArchived: this.tombstoned && meta.merged !== true,
      isGeneral: false,
      members: members.map(([mxid]) => matrixUserKey(mxid)),
    };
  }

  private user(mxid: string): UserFacts {
    let facts = this.users.get(mxid);
    if (facts === undefined) {
      facts = { named: false };
      this.users.set(mxid, facts);
    }
    return facts;
  }
}

/** Keeps the newer of two state values (exports are chronological, but not promised to be). */
function latest<T>(current: Latest<T> | undefined, value: T, ts: number): Latest<T> {
  return current !== undefined && current.ts > ts ? current : { value, ts };
}
