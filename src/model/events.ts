/**
 * Timeline events: a closed union on `kind`.
 *
 * Every consumer handles every kind with an exhaustive `switch` that ends in
 * `assertNever(event)`, so adding a kind is a compile error everywhere it matters.
 * Source-specific detail that the writer may render (Slack blocks, legacy attachments) is kept
 * as opaque JSON inside `SourceText`; the model never interprets it.
 */
import type { EventKey, MediaKey, RoomKey, UserKey } from './ids.js';
import type { Provenance } from './entities.js';
import type { OrderKey } from './order-key.js';

/** Fields every event carries. */
export interface EventBase extends Provenance {
  key: EventKey;
  room: RoomKey;
  sender: UserKey;
  /** Position in the room; total and stable (see order-key.ts). */
  order: OrderKey;
  /** Original time in ms since the epoch; becomes the Matrix `origin_server_ts`. */
  ts: number;
  /** Set when the event belongs to a thread. */
  thread?: ThreadRef;
  /** Set when the event is a reply (quote) to another event outside of thread semantics. */
  replyTo?: EventKey;
}

export interface ThreadRef {
  /** The thread root. It may be missing from the store (orphan reply): the writer decides. */
  root: EventKey;
  /** Slack "also send to channel": written once, as a thread reply. */
  broadcast: boolean;
}

/** Text as the source wrote it; converted to Matrix HTML by src/mapping at write time. */
export type SourceText =
  | {
      format: 'slack-mrkdwn';
      text: string;
      /** Slack Block Kit blocks (rich_text etc.), kept verbatim. */
      blocks?: unknown[];
      /** Slack legacy attachments (unfurls, bot cards, shares), kept verbatim. */
      attachments?: unknown[];
    }
  | { format: 'matrix'; body: string; formattedBody?: string; htmlFormat?: string }
  | { format: 'plain'; text: string };

export type MessageType = 'text' | 'emote' | 'notice';

export interface MessageEvent extends EventBase {
  kind: 'message';
  msgtype: MessageType;
  content: SourceText;
  /** The text is the final version of an edited message (no history survives). */
  edited?: { at: number; by?: UserKey };
  /** A placeholder for a deleted message that still has thread replies. */
  tombstone?: boolean;
  /** Per-message display override (Slack bot `username`). */
  senderNameOverride?: string;
  /** The source subtype, kept for diagnostics (`bot_message`, `channel_archive`, …). */
  subtype?: string;
}

/**
 * One file posted to the room (Matrix m.image/m.file/…). A Slack message with text and three
 * files becomes a MessageEvent followed by three FileEvents; a file-only Slack message becomes
 * FileEvents only, the first keyed like the message so reactions and thread replies find it.
 */
export interface FileEvent extends EventBase {
  kind: 'file';
  media: MediaKey;
  caption?: SourceText;
  /** Per-message display override (Slack bot `username`). */
  senderNameOverride?: string;
}

export interface ReactionEvent extends EventBase {
  kind: 'reaction';
  target: EventKey;
  /** The reaction as the source names it. */
  reaction: { format: 'slack-shortcode'; name: string } | { format: 'unicode'; key: string };
}

export type Membership = 'join' | 'leave' | 'invite' | 'kick' | 'ban';

export interface MembershipEvent extends EventBase {
  kind: 'membership';
  membership: Membership;
  /** Whose membership changes; `sender` is who caused it (inviter, kicker or the user). */
  target: UserKey;
}

export type RoomStateChange =
  | { field: 'name'; name: string; previous?: string }
  | { field: 'topic'; topic: string }
  | { field: 'purpose'; purpose: string }
  | { field: 'archived'; archived: boolean }
  | { field: 'visibility'; private: boolean };

export interface RoomStateEvent extends EventBase {
  kind: 'room_state';
  change: RoomStateChange;
}

export interface PinEvent extends EventBase {
  kind: 'pin';
  target: EventKey;
  pinned: boolean;
}

/** A later replacement of an earlier message's content (Matrix `m.replace`). */
export interface EditEvent extends EventBase {
  kind: 'edit';
  target: EventKey;
  content: SourceText;
}

export interface RedactionEvent extends EventBase {
  kind: 'redaction';
  target: EventKey;
  reason?: string;
}

export type TimelineEvent =
  | MessageEvent
  | FileEvent
  | ReactionEvent
  | MembershipEvent
  | RoomStateEvent
  | PinEvent
  | EditEvent
  | RedactionEvent;

export type EventKind = TimelineEvent['kind'];

export const EVENT_KINDS: readonly EventKind[] = [
  'message',
  'file',
  'reaction',
  'membership',
  'room_state',
  'pin',
  'edit',
  'redaction',
];

/** Finer-grained labels used in reports (`events` object of `--json` summaries). */
export type EventReportKind =
  | 'message'
  | 'emote'
  | 'notice'
  | 'file'
  | 'reaction'
  | 'membership'
  | 'room_state'
  | 'pin'
  | 'edit'
  | 'redaction'
  | 'thread_reply';

/** The report label of an event (messages are split by msgtype). */
export function reportKindOf(event: TimelineEvent): EventReportKind {
  switch (event.kind) {
    case 'message':
      return event.msgtype === 'text' ? 'message' : event.msgtype;
    case 'file':
    case 'reaction':
    case 'membership':
    case 'room_state':
    case 'pin':
    case 'edit':
    case 'redaction':
      return event.kind;
    default:
      return assertNever(event);
  }
}

/** Exhaustiveness guard for switches over closed unions. */
export function assertNever(value: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(value)}`);
}
