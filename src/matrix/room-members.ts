/**
 * Memberships while a room is written: historical authors are joined (invited first in
 * invite-only rooms) just before their first event, and membership events of the source are
 * replayed against the room's current membership (a join of a member already joined is a skip).
 */
import type { TimelineEvent, UserKey } from '../model/index.js';
import { provenance, type LedgerByPart, type LedgerSends } from './ledger-sends.js';
import { ONCE, type RoomSession, type RoomWriterOptions } from './room-session.js';
import type { JsonObject, UserId } from './types.js';

type MembershipEvent = Extract<TimelineEvent, { kind: 'membership' }>;

export class RoomMembers {
  constructor(
    private readonly o: RoomWriterOptions,
    private readonly s: RoomSession,
    private readonly sends: LedgerSends,
  ) {}

  /** Joins a historical author before their first event (invited first in invite-only rooms). */
  async ensureJoined(user: UserKey, trigger: TimelineEvent, byPart: LedgerByPart): Promise<void> {
    if (this.s.members.get(user) === 'join') return;
    const key = `member:${trigger.room}:${user}:${trigger.key}`;
    await this.join(user, key, trigger, byPart);
  }

  /** A membership event of the source. */
  async apply(event: MembershipEvent, byPart: LedgerByPart): Promise<void> {
    const target = this.o.catalog.users.get(event.target);
    if (target === undefined) {
      await this.sends.skip(event, 0, 'unknown_member');
      return;
    }
    const current = this.s.members.get(event.target);
    const skipOnce = async (note: string) => {
      if (!byPart.has(`${event.key}#0`)) await this.sends.skip(event, 0, note);
    };
    switch (event.membership) {
      case 'join':
        if (current === 'join') return skipOnce('already_joined');
        await this.join(event.target, event.key, event, byPart);
        return;
      case 'invite':
        if (current === 'join' || current === 'invite') return skipOnce('already_member');
        await this.sendMember(event, target.mxid, 'invite', this.o.botUserId, byPart);
        return;
      case 'leave':
      case 'kick':
      case 'ban': {
        if (current !== 'join' && current !== 'invite' && event.membership === 'leave')
          return skipOnce('not_a_member');
        const membership = event.membership === 'ban' ? 'ban' : 'leave';
        const actor = event.membership === 'leave' ? target.mxid : this.o.botUserId;
        await this.sendMember(event, target.mxid, membership, actor, byPart);
        return;
      }
    }
  }

  private async sendMember(
    event: MembershipEvent,
    mxid: UserId,
    membership: string,
    actor: UserId,
    byPart: LedgerByPart,
  ): Promise<void> {
    await this.sends.tracked(event.key, 0, event.order, actor, event.ts, byPart, () =>
      this.o.client.sendState(
        this.s.roomId,
        'm.room.member',
        mxid,
        { membership, ...provenance(event.key, 0) },
        { userId: actor, ts: event.ts, ...ONCE },
      ),
    );
    await this.set(event.target, membership);
  }

  private async join(
    user: UserKey,
    key: string,
    at: TimelineEvent,
    byPart: LedgerByPart | undefined,
  ): Promise<void> {
    const mxid = this.o.catalog.user(user).mxid;
    const bot = this.o.botUserId;
    if (this.inviteOnly && this.s.members.get(user) !== 'invite') {
      await this.sends.tracked(key, 1, at.order, bot, at.ts, byPart, () =>
        this.o.client.sendState(
          this.s.roomId,
          'm.room.member',
          mxid,
          { membership: 'invite', ...this.directFlag(), ...provenance(key, 1) },
          { userId: bot, ts: at.ts, ...ONCE },
        ),
      );
      await this.set(user, 'invite');
    }
    await this.sends.tracked(key, 0, at.order, mxid, at.ts, byPart, () =>
      this.o.client.sendState(
        this.s.roomId,
        'm.room.member',
        mxid,
        { membership: 'join', ...provenance(key, 0) },
        { userId: mxid, ts: at.ts, ...ONCE },
      ),
    );
    await this.set(user, 'join');
  }

  private async set(user: UserKey, membership: string): Promise<void> {
    this.s.members.set(user, membership);
    await this.o.state.setMembership(this.s.room.record.key, user, membership);
  }

  /** Invites into DMs and group DMs say so, as clients expect. */
  private directFlag(): JsonObject {
    const kind = this.s.room.record.kind;
    return kind === 'dm' || kind === 'group_dm' ? { is_direct: true } : {};
  }

  private get inviteOnly(): boolean {
    const kind = this.s.room.record.kind;
    return kind !== 'channel' && kind !== 'space';
  }
}
