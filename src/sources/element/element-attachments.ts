/**
 * Finds the attachment an Element export wrote for a media event (source-formats.md §2.8).
 *
 * The JSON does not say which file belongs to which event: `content.url` is left as the
 * `mxc://` URI. Element names each file
 *
 *     <folder>/<body without its last extension>-<date> at <time><extension>
 *
 * where `<folder>` follows the msgtype (`images`, `videos`, `audio`, `stickers`, `files`),
 * stickers are forced to `.png` and voice messages to `.ogg`, and `<date>`/`<time>` are the
 * exporting browser's `toLocaleDateString()`/`toLocaleTimeString()` with `/` and `:` turned
 * into `-` — in *its* locale and time zone, neither of which the export records.
 *
 * Matching therefore works on candidates: every file in the event's folder whose name starts
 * with `<stem>-` and ends with the expected extension, and whose remainder reads as a date
 * and time in some numeric locale layout (day/month order either way, 12 or 24 hours,
 * non-Latin digits). A candidate fits when its wall-clock time minus `origin_server_ts` is a
 * plausible UTC offset: between −12 h and +14 h and on a 15-minute grid (to the second).
 * When several fit (two `image.png` posted a whole number of quarter hours apart), the
 * offset most media events of the export agree on wins: the adapter lets every event `vote`
 * in its first pass, then calls `find` in the second.
 *
 * Limits: a file Element dropped (size cap, fetch error, name collision where the last one
 * wins) is simply not found; a locale whose date has no four-digit year is not recognised.
 */

/** Folders of an Element export that hold attachments. Closed. */
export type AttachmentFolder = 'images' | 'videos' | 'audio' | 'stickers' | 'files';

export const ATTACHMENT_FOLDERS: readonly AttachmentFolder[] = [
  'images',
  'videos',
  'audio',
  'stickers',
  'files',
];

export interface AttachmentQuery {
  folder: AttachmentFolder;
  /** `content.body`, the name Element builds the path from. */
  body: string;
  /** `content.filename` (Matrix 1.10 captions), tried when the body gives nothing. */
  filename?: string;
  /** `origin_server_ts` of the event. */
  ts: number;
  /** Extension Element forces: `.png` for stickers, `.ogg` for voice messages. */
  forcedExtension?: string;
}

const HOUR = 3_600_000;
const QUARTER = 900_000;

interface Fit {
  /** Path relative to `<base><folder>/`. */
  name: string;
  /** The exporter's UTC offset under which this file is the event's. */
  offset: number;
}

export class ElementAttachments {
  /** Per folder: names relative to `<base><folder>/`, sorted for prefix search. */
  private readonly names = new Map<AttachmentFolder, string[]>();
  /** Offset → weight of the evidence for it (see `vote`). */
  private readonly votes = new Map<number, number>();

  /**
   * `paths` are archive entries; `base` is the folder of export.json (`''` or `name/`).
   * Entries outside `<base><folder>/` are ignored.
   */
  constructor(
    paths: Iterable<string>,
    private readonly base: string,
  ) {
    for (const path of paths) {
      if (!path.startsWith(base)) continue;
      const rest = path.slice(base.length);
      const slash = rest.indexOf('/');
      const folder = ATTACHMENT_FOLDERS.find((f) => f === rest.slice(0, slash));
      if (slash < 0 || folder === undefined) continue;
      const list = this.names.get(folder) ?? [];
      list.push(rest.slice(slash + 1));
      this.names.set(folder, list);
    }
    for (const list of this.names.values()) list.sort();
  }

  /** How many files the index holds (all folders). */
  get size(): number {
    let n = 0;
    for (const list of this.names.values()) n += list.length;
    return n;
  }

  /**
   * First pass: lets every media event of the export vote for the offsets under which its
   * file exists (one vote, shared among its candidates). The exporter had one time zone, so
   * its offset (or its two DST offsets) collects most of the votes.
   */
  vote(query: AttachmentQuery): void {
    const fits = this.fits(query);
    for (const fit of fits) {
      this.votes.set(fit.offset, (this.votes.get(fit.offset) ?? 0) + 1 / fits.length);
    }
  }

  /**
   * The archive entry holding the event's file, or undefined when none fits. Among several
   * candidates the one whose offset got the most votes wins.
   */
  find(query: AttachmentQuery): string | undefined {
    const fits = this.fits(query);
    const weight = (f: Fit) => this.votes.get(f.offset) ?? 0;
    fits.sort(
      (a, b) =>
        weight(b) - weight(a) ||
        Math.abs(a.offset) - Math.abs(b.offset) ||
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    const best = fits[0];
    return best === undefined ? undefined : `${this.base}${query.folder}/${best.name}`;
  }

  /** Candidates by the body, or else by the file name. */
  private fits(query: AttachmentQuery): Fit[] {
    for (const name of [query.body, query.filename]) {
      if (name === undefined || name === '') continue;
      const fits = this.fitsByName(query, name.normalize('NFC'));
      if (fits.length > 0) return fits;
    }
    return [];
  }

  private fitsByName(query: AttachmentQuery, name: string): Fit[] {
    const list = this.names.get(query.folder);
    if (list === undefined) return [];
    const [stem, ownExtension] = splitFileName(name);
    const extension = query.forcedExtension ?? ownExtension;
    const prefix = `${stem}-`;
    const fits: Fit[] = [];
    for (let i = lowerBound(list, prefix); i < list.length; i++) {
      const candidate = list[i];
      if (candidate === undefined || !candidate.startsWith(prefix)) break;
      if (!candidate.endsWith(extension)) continue;
      const stamp = candidate.slice(prefix.length, candidate.length - extension.length);
      for (const offset of plausibleOffsets(stamp, query.ts))
        fits.push({ name: candidate, offset });
    }
    return fits;
  }
}

/** Element's split: the last `.` starts the extension; no dot, no extension. */
export function splitFileName(name: string): [stem: string, extension: string] {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? [name, ''] : [name.slice(0, dot), name.slice(dot)];
}

/** First index whose name is >= prefix (the list is sorted). */
function lowerBound(list: readonly string[], prefix: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] ?? '') < prefix) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The UTC offsets (wall clock − `ts`, rounded to the quarter hour) under which `stamp` can be
 * the exporter's rendering of `ts`; empty when it cannot be.
 */
function plausibleOffsets(stamp: string, ts: number): number[] {
  const parsed = parseExportStamp(stamp);
  if (parsed === undefined) return [];
  const offsets: number[] = [];
  for (const wallClock of parsed.candidates) {
    const diff = wallClock - ts;
    if (diff < -12 * HOUR - parsed.precision || diff > 14 * HOUR + parsed.precision) continue;
    const offset = Math.round(diff / QUARTER) * QUARTER;
    // The rendering truncates: wall clock = offset + ts, floored to the precision.
    const lag = offset - diff;
    if (lag < 0 || lag >= parsed.precision) continue;
    if (!offsets.includes(offset)) offsets.push(offset);
  }
  return offsets;
}

interface ParsedStamp {
  /** Wall-clock readings as if UTC (ms), one per date layout that fits. */
  candidates: number[];
  /** 1000 when seconds are shown, 60000 when not. */
  precision: number;
}

/**
 * Reads `<date> <word> <time>` as Element renders it in any numeric locale: `11-17-2022 at
 * 4-58-32 PM`, `17.11.2022 um 16-58-32`, `2022-11-17 16-58-32`, `2022. 11. 17. 오후 4-58-32`.
 * Exported for tests.
 */
export function parseExportStamp(raw: string): ParsedStamp | undefined {
  const text = asciiDigits(raw)
    .replace(/[\u200e\u200f\u061c]/g, '')
    .trim();
  if (!/^\d/.test(text)) return undefined;
  const runs = [...text.matchAll(/\d+/g)];
  if (runs.length !== 5 && runs.length !== 6) return undefined;
  const n = runs.map((r) => Number(r[0]));
  const [a, b, c, hour, minute] = n;
  const second = n[5] ?? 0;
  if (a === undefined || b === undefined || c === undefined) return undefined;
  if (hour === undefined || minute === undefined) return undefined;
  const dateEnd = (runs[2]?.index ?? 0) + (runs[2]?.[0].length ?? 0);
  const meridiem = meridiemOf(text.slice(dateEnd));
  if (meridiem !== undefined && (hour < 1 || hour > 12)) return undefined;
  const h = meridiem === 'pm' ? (hour % 12) + 12 : meridiem === 'am' ? hour % 12 : hour;
  if (h > 23 || minute > 59 || second > 59) return undefined;

  const yearFirst = (runs[0]?.[0].length ?? 0) === 4;
  const yearLast = (runs[2]?.[0].length ?? 0) === 4;
  const layouts: [y: number, m: number, d: number][] = yearFirst
    ? [[a, b, c]]
    : yearLast
      ? [
          [c, a, b],
          [c, b, a],
        ]
      : [];
  const candidates: number[] = [];
  for (const [y, m, d] of layouts) {
    if (m < 1 || m > 12 || d < 1 || d > 31) continue;
    const t = Date.UTC(y, m - 1, d, h, minute, second);
    if (new Date(t).getUTCDate() !== d || candidates.includes(t)) continue;
    candidates.push(t);
  }
  if (candidates.length === 0) return undefined;
  return { candidates, precision: runs.length === 6 ? 1000 : 60_000 };
}

function meridiemOf(text: string): 'am' | 'pm' | undefined {
  if (/(?:^|[^a-z])p\.?\s?m\.?(?![a-z])|午後|下午|오후|μ\.\s?μ\./i.test(text)) return 'pm';
  if (/(?:^|[^a-z])a\.?\s?m\.?(?![a-z])|午前|上午|오전|π\.\s?μ\./i.test(text)) return 'am';
  return undefined;
}

/** Decimal digits of other scripts (Arabic-Indic, Devanagari, fullwidth, …) → ASCII. */
function asciiDigits(text: string): string {
  return text.replace(/\p{Nd}/gu, (ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    for (const zero of DIGIT_ZEROS) if (cp >= zero && cp <= zero + 9) return String(cp - zero);
    return ch;
  });
}

const DIGIT_ZEROS = [
  0x30, 0x660, 0x6f0, 0x7c0, 0x966, 0x9e6, 0xa66, 0xae6, 0xb66, 0xbe6, 0xc66, 0xce6, 0xd66, 0xe50,
  0xed0, 0xf20, 0x1040, 0x17e0, 0x1810, 0xff10,
];
