/**
 * `ferry report --html`: the migration report as ONE self-contained HTML page, a pure function
 * of the report data (src/store/migration-report.ts).
 *
 * Contract:
 * - nothing from outside the page: inline CSS, charts as inline SVG, no script, no font, no
 *   image; a Content-Security-Policy meta tag allows only the page's own style block (by hash)
 *   and `data:` images, so even an injected tag could load nothing;
 * - every string from the data is escaped (room names, errors and file names are user input);
 * - every figure is rendered in an element with `data-metric="<name>"` (rooms' cells inside a
 *   row with `data-room="<room key>"`), so tests and scripts can read the page back.
 */
import { createHash } from 'node:crypto';
import type { MigrationReport, RoomReport } from '../store/migration-report.js';
import { LOSS_TEXT, SKIP_TEXT } from './report.js';
import { REPORT_CSS } from './migration-report-style.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const e = escapeHtml;
const fmt = (n: number): string => n.toLocaleString('en-US');
const num = (metric: string, n: number): string =>
  `<span class="num" data-metric="${e(metric)}">${fmt(n)}</span>`;
const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

/** Why push did not send an event, in words; the ones that lose nothing are marked `noop`. */
const PUSH_SKIP_TEXT: Record<string, { text: string; noop?: true }> = {
  pinned_at_end: { text: 'pins, applied as the room’s pinned events at the end', noop: true },
  already_joined: { text: 'joins of users already in the room', noop: true },
  already_member: { text: 'invites of users already in the room', noop: true },
  not_a_member: { text: 'leaves of users not in the room', noop: true },
  unknown_sender: { text: 'events whose sender is not in the store' },
  unknown_member: { text: 'membership changes of unknown users' },
  empty_content: { text: 'events with nothing left to show' },
  edit_target_missing: { text: 'edits of messages that are not in the store' },
  reaction_target_missing: { text: 'reactions to messages that are not in the store' },
  redaction_target_missing: { text: 'redactions of events that were never sent' },
  end_of_room_state_refused: { text: 'pins or read-only state the homeserver refused' },
};

const FILE_TEXT: Record<string, string> = {
  not_in_export: 'no body in the export and no URL to fetch it from',
  download_disabled: 'a URL exists but downloads were off (push --download-media)',
  download_failed: 'the download failed',
  html_instead_of_file: 'an HTML page came back instead of the file (expired token?)',
  too_large: 'larger than the upload limit, and no public URL to link to',
  source_stub: 'the source kept only a stub',
  hidden_by_limit: 'hidden by Slack’s free-plan limit',
  tombstone: 'deleted in the source',
  access_denied: 'the exporter could not see it',
  no_record: 'its record is missing from the store',
};

export function renderMigrationReportHtml(r: MigrationReport): string {
  const styleHash = createHash('sha256').update(REPORT_CSS).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${styleHash}'; img-src data:; base-uri 'none'; form-action 'none'`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${e(csp)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>ferry migration report — ${e(sourceNames(r))}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head><body><main>',
    header(r),
    totalsSection(r),
    timelineSection(r),
    slowestSection(r),
    lostSection(r),
    roomsSection(r),
    `<footer>Built by <code>ferry report</code> from the store and the push ledger only. Figures equal <code>ferry status --json</code>.</footer>`,
    '</main></body></html>',
    '',
  ].join('\n');
}

function sourceNames(r: MigrationReport): string {
  const names = r.status.sources.map((s) => s.name);
  return names.length === 0 ? 'empty store' : names.join(', ');
}

function header(r: MigrationReport): string {
  const sources =
    r.status.sources.length === 0
      ? '<p class="empty" data-metric="empty">The store is empty: run <code>ferry ingest</code> first.</p>'
      : `<p class="sources">${r.status.sources
          .map(
            (s) =>
              `<span class="tag">${e(s.name)} <small>${e(s.key)} · ${e(s.kind)}</small></span>`,
          )
          .join(' ')}</p>`;
  return [
    '<header>',
    `<h1>Migration report <small>${e(sourceNames(r))}</small></h1>`,
    `<p class="meta">Generated ${e(r.generated_at)} from ${e(r.status.store.backend)} store <code>${e(r.status.store.location)}</code></p>`,
    sources,
    '</header>',
  ].join('\n');
}

function card(label: string, body: string, note = ''): string {
  return `<div class="card"><div class="label">${e(label)}</div><div class="big">${body}</div>${note === '' ? '' : `<div class="note">${note}</div>`}</div>`;
}

function totalsSection(r: MigrationReport): string {
  const t = r.totals;
  const s = r.status;
  const unavailable = sum(t.files.unavailable);
  const cards = [
    card('Rooms', num('rooms', t.rooms), `users ${num('status.users', s.users)}`),
    card('Source messages', num('messages', t.messages), `events ${num('events', t.events)}`),
    card(
      'Events written',
      num('push.events_sent', s.push.events_sent),
      `not sent ${num('push.events_skipped', s.push.events_skipped)} · not pushed yet ${num('push.events_not_pushed', s.push.events_not_pushed)}`,
    ),
    card(
      'Files',
      num('files.total', t.files.total),
      `uploaded ${num('files.uploaded', t.files.uploaded)} · links ${num('files.linked', t.files.linked)} · unavailable ${num('files.unavailable', unavailable)}`,
    ),
    card(
      'Verify',
      `${num('verify.ok', t.verify.ok)}<small> ok</small>`,
      `mismatch ${num('verify.mismatch', t.verify.mismatch)} · not verified ${num('verify.not_verified', t.verify.not_verified)}${t.verify.stale > 0 ? ` · pushed again since ${num('verify.stale', t.verify.stale)}` : ''}`,
    ),
  ];
  return [
    '<section><h2>Totals</h2>',
    `<div class="cards">${cards.join('')}</div>`,
    progressBar(s.push.events_sent, s.push.events_skipped, s.push.events_not_pushed),
    storeTable(r),
    '</section>',
  ].join('\n');
}

/** Sent / not sent / not pushed as one stacked bar (SVG: no style attributes needed). */
function progressBar(sent: number, skipped: number, notPushed: number): string {
  const total = sent + skipped + notPushed;
  if (total === 0) return '';
  const parts: [string, number, string][] = [
    ['sent', sent, 'sent'],
    ['skip', skipped, 'not sent'],
    ['todo', notPushed, 'not pushed yet'],
  ];
  let x = 0;
  const rects = parts.map(([cls, n, label]) => {
    const w = (n / total) * 1000;
    const rect = `<rect class="${cls}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="14"><title>${label}: ${fmt(n)}</title></rect>`;
    x += w;
    return rect;
  });
  return `<svg class="bar" viewBox="0 0 1000 14" preserveAspectRatio="none" role="img" aria-label="events sent ${fmt(sent)}, not sent ${fmt(skipped)}, not pushed ${fmt(notPushed)}">${rects.join('')}</svg>`;
}

function storeTable(r: MigrationReport): string {
  const s = r.status;
  const rooms = Object.entries(s.rooms)
    .map(([k, n]) => `${e(k)} ${num(`status.rooms.${k}`, n)}`)
    .join(' · ');
  const events = Object.entries(s.events)
    .map(([k, n]) => `${e(k)} ${num(`status.events.${k}`, n)}`)
    .join(' · ');
  const push = Object.entries(s.push.rooms)
    .map(([k, n]) => `${e(k)} ${num(`status.push.rooms.${k}`, n)}`)
    .join(' · ');
  return [
    '<table class="kv"><tbody>',
    `<tr><th>Rooms by kind</th><td>${rooms}</td></tr>`,
    `<tr><th>Events by kind</th><td>${events === '' ? 'none' : events}</td></tr>`,
    `<tr><th>Files in the store</th><td>${num('status.files', s.files)}</td></tr>`,
    `<tr><th>Push, rooms</th><td>${push}</td></tr>`,
    s.last_run === null
      ? ''
      : `<tr><th>Last ingest</th><td>run ${fmt(s.last_run.id)} ${e(s.last_run.status)} at ${e(s.last_run.started_at)} <code>${e(s.last_run.input)}</code></td></tr>`,
    '</tbody></table>',
  ].join('\n');
}

function timelineSection(r: MigrationReport): string {
  const months = r.timeline;
  if (months.length === 0)
    return '<section><h2>Messages per month</h2><p class="empty">No messages.</p></section>';
  const max = Math.max(...months.map((m) => m.messages), 1);
  const W = 900;
  const H = 180;
  const left = 44;
  const bottom = 24;
  const slot = (W - left) / months.length;
  const every = Math.max(1, Math.ceil(months.length / 12));
  const bars = months.map((m, i) => {
    const h = ((H - bottom - 8) * m.messages) / max;
    const x = left + i * slot;
    const label =
      i % every === 0
        ? `<text class="axis" x="${(x + slot / 2).toFixed(1)}" y="${H - 6}" text-anchor="middle">${e(m.month)}</text>`
        : '';
    return `<g data-month="${e(m.month)}"><rect class="month" x="${(x + slot * 0.1).toFixed(1)}" y="${(H - bottom - h).toFixed(1)}" width="${(slot * 0.8).toFixed(1)}" height="${h.toFixed(1)}"><title>${e(m.month)}: ${fmt(m.messages)} messages</title></rect>${label}</g>`;
  });
  return [
    '<section><h2>Messages per month</h2>',
    `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="messages per month, ${e(months[0]?.month ?? '')} to ${e(months[months.length - 1]?.month ?? '')}">`,
    `<line class="grid" x1="${left}" y1="${H - bottom}" x2="${W}" y2="${H - bottom}"/>`,
    `<text class="axis" x="${left - 6}" y="14" text-anchor="end">${fmt(max)}</text>`,
    `<text class="axis" x="${left - 6}" y="${H - bottom}" text-anchor="end">0</text>`,
    ...bars,
    '</svg></section>',
  ].join('\n');
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function slowestSection(r: MigrationReport): string {
  if (r.slowest.length === 0) {
    return '<section><h2>Slowest rooms</h2><p class="empty">No push timing recorded yet.</p></section>';
  }
  const rows = r.slowest.map(
    (s) =>
      `<tr data-room="${e(s.room)}"><td>${e(s.name ?? s.room)}<br><small>${e(s.room)}</small></td><td class="r">${e(duration(s.ms))}</td><td class="r">${fmt(s.sent)}</td><td class="r">${e(String(s.per_second))}</td></tr>`,
  );
  return [
    '<section><h2>Slowest rooms</h2>',
    '<table><thead><tr><th>Room</th><th class="r">Push time</th><th class="r">Events sent</th><th class="r">Events/s</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table></section>',
  ].join('\n');
}

function reasonRows(
  metric: string,
  counts: Record<string, number>,
  text: (reason: string) => string,
): string[] {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(
      ([reason, n]) =>
        `<tr><td class="r">${num(`${metric}.${reason}`, n)}</td><td><code>${e(reason)}</code></td><td>${e(text(reason))}</td></tr>`,
    );
}

function lostSection(r: MigrationReport): string {
  const l = r.lost;
  const noop = (k: string): boolean => PUSH_SKIP_TEXT[k]?.noop === true;
  const pushLost = Object.fromEntries(Object.entries(l.push_skipped).filter(([k]) => !noop(k)));
  const pushNoop = Object.fromEntries(Object.entries(l.push_skipped).filter(([k]) => noop(k)));
  const groups: [string, string[]][] = [
    ['Not carried over (ingest)', reasonRows('lost.skipped', l.skipped, (k) => SKIP_TEXT[k] ?? k)],
    [
      'Carried over in part (ingest)',
      reasonRows('lost.partial', l.partial, (k) => LOSS_TEXT[k] ?? k),
    ],
    [
      'Left encrypted',
      reasonRows('lost.undecryptable', l.undecryptable, (k) => `no decrypted copy (${k})`),
    ],
    [
      'Block Kit blocks shown only as their text',
      reasonRows('lost.unsupported_blocks', l.unsupported_blocks, (k) => `block type ${k}`),
    ],
    [
      'Files posted without their body',
      reasonRows('lost.files_unavailable', l.files_unavailable, (k) => FILE_TEXT[k] ?? k),
    ],
    [
      'Not sent by push',
      reasonRows('lost.push_skipped', pushLost, (k) => PUSH_SKIP_TEXT[k]?.text ?? k),
    ],
    [
      'Not sent, nothing lost',
      reasonRows('lost.push_skipped', pushNoop, (k) => PUSH_SKIP_TEXT[k]?.text ?? k),
    ],
  ];
  const body = groups
    .filter(([, rows]) => rows.length > 0)
    .map(
      ([title, rows]) => `<tr class="group"><th colspan="3">${e(title)}</th></tr>${rows.join('')}`,
    );
  const runs = l.runs
    .map((run) => `run ${fmt(run.id)} <code>${e(run.input)}</code> (${e(run.source)})`)
    .join('; ');
  return [
    '<section><h2>Lost in conversion</h2>',
    body.length === 0
      ? '<p class="empty">Nothing recorded as lost.</p>'
      : `<table class="lost"><tbody>${body.join('')}</tbody></table>`,
    runs === ''
      ? ''
      : `<p class="note">Ingest figures from the latest complete ingest of each source: ${runs}.</p>`,
    '</section>',
  ].join('\n');
}

function verifyCell(room: RoomReport): string {
  const v = room.verify;
  if (v === null) return '<td class="verify none" data-metric="verify">not verified</td>';
  const problems = [
    ['missing', v.missing],
    ['duplicated', v.duplicated],
    ['out of order', v.out_of_order],
    ['wrong sender', v.wrong_sender],
    ['wrong time', v.wrong_ts],
    ['never pushed', v.not_pushed],
  ]
    .filter(([, n]) => Number(n) > 0)
    .map(([k, n]) => `${k} ${fmt(Number(n))}`)
    .join(', ');
  const state = v.ok ? 'ok' : 'mismatch';
  const title = [`verified ${v.verified_at}`, ...v.examples].join('\n');
  return `<td class="verify ${state}" title="${e(title)}"><span data-metric="verify">${state}</span> <small>${fmt(v.found)}/${fmt(v.expected)}${problems === '' ? '' : ` · ${e(problems)}`}${v.stale ? ' · pushed again since' : ''}</small></td>`;
}

function reasons(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([k, n]) => `${e(k)} ${fmt(n)}`);
  return parts.length === 0 ? '' : `<br><small>${parts.join(', ')}</small>`;
}

function roomRow(room: RoomReport): string {
  const f = room.files;
  const lost = { ...room.lost.undecryptable, ...prefixed('block ', room.lost.unsupported_blocks) };
  const status =
    room.matrix.error === null
      ? e(room.matrix.status.replace('_', ' '))
      : `${e(room.matrix.status)}<br><small class="err">${e(room.matrix.error)}</small>`;
  return [
    `<tr data-room="${e(room.key)}">`,
    `<td>${e(room.name ?? room.key)}<br><small>${e(room.key)}${room.matrix.alias === null ? '' : ` · ${e(room.matrix.alias)}`}</small></td>`,
    `<td>${e(room.kind)}</td>`,
    `<td class="r">${num('messages', room.messages)}<br><small>${fmt(room.events)} event${room.events === 1 ? '' : 's'}</small></td>`,
    `<td class="r">${num('sent', room.written.sent)}</td>`,
    `<td class="r">${num('skipped', room.written.skipped_total)}${reasons(room.written.skipped)}</td>`,
    `<td class="r">${num('not_pushed', room.written.not_pushed)}${room.written.late > 0 ? `<br><small>late ${fmt(room.written.late)}</small>` : ''}</td>`,
    `<td class="r">${num('files.uploaded', f.uploaded)} / ${num('files.linked', f.linked)} / ${num('files.unavailable', sum(f.unavailable))}${reasons(f.unavailable)}</td>`,
    `<td>${status}${reasons(lost)}</td>`,
    verifyCell(room),
    '</tr>',
  ].join('');
}

function prefixed(prefix: string, o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, n]) => [`${prefix}${k}`, n]));
}

function roomsSection(r: MigrationReport): string {
  if (r.rooms.length === 0)
    return '<section><h2>Rooms</h2><p class="empty">No rooms.</p></section>';
  return [
    '<section><h2>Rooms</h2>',
    '<table class="rooms"><thead><tr><th>Room</th><th>Kind</th><th class="r">Source messages</th><th class="r">Written</th><th class="r">Not sent</th><th class="r">Not pushed</th><th class="r">Files up / link / gone</th><th>Push</th><th>Verify</th></tr></thead><tbody>',
    ...r.rooms.map(roomRow),
    '</tbody></table></section>',
  ].join('\n');
}
