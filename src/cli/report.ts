/** Human-readable renderings of the summaries; `--json` prints the objects themselves. */
import type { IngestSummary } from '../ingest/ingest.js';
import type { ContentSummary } from '../ingest/summary.js';
import type { PushPlan } from '../matrix/plan.js';
import { formatDuration, type PushEta } from '../matrix/push-runs.js';
import type { PushSummary } from '../matrix/push.js';
import type { VerifySummary } from '../matrix/verify.js';
import type { StoreStatus } from '../store/status.js';

/** What each skip reason means, in words (also used by the HTML migration report). */
export const SKIP_TEXT: Record<string, string> = {
  integration_log: 'integration log messages (bot added/removed)',
  call_record: 'call/huddle records without text',
  empty_message: 'messages with no text and no files',
  duplicate: 'repeated copies of the same message',
  reaction_unknown_user: 'reactions by unknown users',
  malformed_message: 'malformed entries',
  bad_file: 'day files that are not valid JSON (skipped on request)',
  unsupported_entry: 'files ferry does not read (integration_logs.json, canvases…)',
  unlisted_conversation: 'conversation folders no index file lists',
  invalid_sender: 'messages from senders the exporter marks as broken (U00)',
  undecryptable: 'encrypted events that could not be decrypted (per room below)',
  unsupported_event: 'event types ferry does not carry over',
  missing_content: 'records whose content the exporter lost',
  redacted: 'events already redacted in the export',
};

/** What each loss reason means, in words. */
export const LOSS_TEXT: Record<string, string> = {
  file_hidden_by_limit: 'files hidden by the free-plan limit (a placeholder is posted)',
  file_tombstone: 'deleted files (a placeholder is posted)',
  file_access_denied: 'files the exporter could not see',
  file_external: 'external files (posted as links)',
  file_body_not_in_export:
    'file bodies not in the export (downloaded from their URL at push time, if allowed)',
  edit_history: 'edited messages (only the final text survives)',
  reaction_users_truncated: 'reactions whose users Slack did not list',
  thread_root_missing: 'thread replies whose root is not in the export',
};

const line = (label: string, value: string | number): string => `  ${label.padEnd(22)} ${value}`;

function byKey(obj: Record<string, number | undefined>): string {
  const parts = Object.entries(obj)
    .filter(([, n]) => (n ?? 0) > 0)
    .map(([k, n]) => `${k} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

export function renderContentSummary(s: ContentSummary): string {
  const out: string[] = [];
  if (s.source !== null) out.push(`Source: ${s.source.name} (${s.source.key})`);
  out.push(
    line(
      'users',
      `${s.users} (bots ${s.user_kinds.bot}, deleted ${s.user_kinds.deleted}, placeholders ${s.user_kinds.placeholder})`,
    ),
  );
  out.push(line('rooms', byKey(s.rooms)));
  out.push(line('events', byKey(s.events)));
  out.push(line('thread replies', s.thread_replies));
  out.push(
    line(
      'files',
      `${s.files.total} (with body ${s.files.with_body}, without ${s.files.without_body})`,
    ),
  );
  out.push(
    line(
      'date range',
      s.date_range.first === null ? 'no events' : `${s.date_range.first} → ${s.date_range.last}`,
    ),
  );
  const skipped = Object.entries(s.skipped);
  out.push(skipped.length === 0 ? 'Skipped: nothing' : 'Skipped (not carried over):');
  for (const [reason, n] of skipped)
    out.push(`  ${String(n).padStart(7)}  ${reason}: ${SKIP_TEXT[reason] ?? reason}`);
  for (const [room, byWhy] of Object.entries(s.undecryptable))
    out.push(`           undecryptable in ${room}: ${byKey({ ...byWhy })}`);
  const lost = Object.entries(s.lost);
  out.push(lost.length === 0 ? 'Lost: nothing' : 'Carried over in part:');
  for (const [reason, n] of lost)
    out.push(`  ${String(n).padStart(7)}  ${reason}: ${LOSS_TEXT[reason] ?? reason}`);
  return out.join('\n');
}

export function renderIngestSummary(s: IngestSummary): string {
  return [
    renderContentSummary(s),
    `Store (run ${s.run_id}):`,
    line('added', byKey({ ...s.added })),
    line('updated', byKey({ ...s.updated })),
    line('already there', byKey({ ...s.existing })),
  ].join('\n');
}

export function renderStatus(s: StoreStatus): string {
  const out = [`Store: ${s.store.location} (${s.store.backend})`];
  if (s.sources.length === 0) out.push('  empty: run `ferry ingest slack <export>` first');
  for (const src of s.sources) out.push(line(`source ${src.key}`, `${src.name} (${src.kind})`));
  out.push(line('users', s.users));
  out.push(line('rooms', byKey(s.rooms)));
  out.push(line('events', byKey(s.events)));
  out.push(line('files', s.files));
  const pushed = s.push.rooms.done + s.push.rooms.failed + s.push.rooms.running;
  if (pushed > 0) {
    out.push(line('push: rooms', byKey({ ...s.push.rooms })));
    out.push(
      line(
        'push: events',
        `sent ${s.push.events_sent}, not sent (skipped) ${s.push.events_skipped}, not pushed yet ${s.push.events_not_pushed}`,
      ),
    );
  }
  if (s.last_run !== null) {
    out.push(
      line(
        'last ingest',
        `run ${s.last_run.id} ${s.last_run.status} at ${s.last_run.started_at} (${s.last_run.input})`,
      ),
    );
  }
  return out.join('\n');
}

export function renderPushSummary(s: PushSummary): string {
  const out = [
    'Push finished:',
    line('users', `created ${s.users.created}, already there ${s.users.existing}`),
    line('rooms', `written ${s.rooms.written}, failed ${s.rooms.failed}`),
    line(
      'events',
      `sent ${s.events.sent}, already sent ${s.events.already_sent}, reconciled after a crash ${s.events.reconciled}`,
    ),
    line('not sent', byKey(s.events.skipped)),
  ];
  const late = Object.entries(s.late);
  if (late.length > 0) {
    out.push(
      'Events older than what their room already shows (not sent; --append-late sends them at the end):',
    );
    for (const [room, n] of late) out.push(`  ${String(n).padStart(7)}  ${room}`);
  }
  for (const f of s.failures) out.push(`FAILED ${f.room}: ${f.error}`);
  return out.join('\n');
}

export function renderVerifySummary(s: VerifySummary): string {
  const out = [
    `${s.ok ? 'OK' : 'MISMATCH'}: ${s.rooms} rooms, ${s.events_found} of ${s.events_expected} expected events found`,
    line('missing', s.missing),
    line('duplicated', s.duplicated),
    line('out of order', s.out_of_order),
    line('wrong sender', s.wrong_sender),
    line('wrong timestamp', s.wrong_ts),
    line('never pushed', s.not_pushed),
    line(
      'late (not sent)',
      `${s.late} (older than what their room showed; push --append-late sends them)`,
    ),
  ];
  for (const room of s.by_room) {
    out.push(
      `  ${room.room} (${room.room_id ?? 'no room'}): expected ${room.expected}, found ${room.found}`,
    );
    for (const example of room.examples) out.push(`    ${example}`);
  }
  return out.join('\n');
}

/** Which ingest named the room, when more than one read it or its input is known. */
function decidedBy(r: PushPlan['rooms']['list'][number]): string {
  const d = r.decided_by;
  if (d === null) return '';
  const from = d.input ?? d.source;
  const others = d.sources > 1 ? `, newest of ${d.sources} sources` : '';
  return `  [decided by ${from}, latest event ${d.latest_event.slice(0, 10)}${others}]`;
}

function renderEta(eta: PushEta): string {
  switch (eta.status) {
    case 'done':
      return 'nothing left to send';
    case 'unknown':
      return `unknown (${eta.reason}); ${eta.pending_events} events pending`;
    case 'estimated':
      return (
        `${formatDuration(eta.seconds)} for ${eta.pending_events} events at ${eta.events_per_second} events/s ` +
        `(measured over the last ${eta.based_on_runs} finished push${eta.based_on_runs === 1 ? '' : 'es'}, concurrency ${eta.concurrency})`
      );
  }
}

export function renderPlan(p: PushPlan): string {
  const out = [
    `Users: ${p.users.total} (${byKey({ ...p.users.by_origin })}); ${p.users.to_create} ghost accounts to create`,
  ];
  for (const u of p.users.list.slice(0, 50)) {
    out.push(
      `  ${u.user.padEnd(28)} → ${u.mxid}  (${u.origin}${u.create ? ', new' : ''})  ${u.name}`,
    );
  }
  if (p.users.list.length > 50) out.push(`  … ${p.users.list.length - 50} more (--json lists all)`);
  out.push(`Rooms: ${p.rooms.total}; ${p.rooms.to_create} to create`);
  for (const r of p.rooms.list) {
    out.push(
      `  ${r.room.padEnd(28)} → ${r.target}  (${r.action.replaceAll('_', ' ')}, ${r.events_to_send} events to send)  ${r.name ?? ''}${decidedBy(r)}`,
    );
  }
  out.push(`Events: ${p.events.to_send} to send, ${p.events.already_sent} already sent`);
  out.push(`ETA: ${renderEta(p.eta)}`);
  return out.join('\n');
}
