/**
 * Pieces shared by the zip and folder readers: entry-name decoding (UTF-8 / CP437), path
 * safety, junk filtering, export-root detection and the sorted index. Pure functions, no I/O.
 */
import type { Logger } from '../logger.js';
import type { ArchiveEntry } from './archive.js';

// CP437 bytes 0x80–0xFF. 0x00–0x7F are read as ASCII (as Python's cp437 codec does, which is
// what Zulip's Slack importer relies on), not as the DOS graphic glyphs.
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

export function decodeCp437(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b < 0x80 ? String.fromCharCode(b) : (CP437_HIGH[b - 0x80] ?? '');
  return out;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Raw zip name bytes → string: UTF-8 if valid (flag or not), else CP437; then NFC. */
export function decodeEntryName(raw: Uint8Array): string {
  let text: string;
  try {
    text = strictUtf8.decode(raw);
  } catch {
    text = decodeCp437(raw);
  }
  return text.normalize('NFC');
}

export type NameCheck = { kind: 'file'; path: string } | { kind: 'directory' } | { kind: 'unsafe' };

/**
 * Classifies a decoded entry name and normalises it to the ArchiveEntry path form.
 * Backslashes count as separators, so `..\x` is unsafe and `a\b.json` is `a/b.json`.
 * `.` and empty segments are dropped; a name that is empty afterwards counts as a directory.
 */
export function checkEntryName(name: string): NameCheck {
  const slashed = name.replace(/\\/g, '/');
  if (slashed.startsWith('/') || /^[A-Za-z]:/.test(slashed)) return { kind: 'unsafe' };
  const segments = slashed.split('/');
  if (segments.includes('..')) return { kind: 'unsafe' };
  const isDir = slashed.endsWith('/');
  const kept = segments.filter((s) => s !== '' && s !== '.');
  if (isDir || kept.length === 0) return { kind: 'directory' };
  return { kind: 'file', path: kept.join('/').normalize('NFC') };
}

/** `__MACOSX/` anywhere in the path, or a `.DS_Store` file. */
export function isJunkPath(path: string): boolean {
  const segments = path.split('/');
  return segments.includes('__MACOSX') || segments[segments.length - 1] === '.DS_Store';
}

/** Makes a name safe to print: control characters become `\xNN`. */
export function printableName(name: string): string {
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f]/g;
  return name.replace(control, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Code-unit order: the same on every machine and locale. */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The root prefix ('' or 'wrapper/') given all file paths (junk already removed).
 * See "Export root" in archive-reader.ts.
 */
export function detectRoot(paths: Iterable<string>, markers: readonly string[]): string {
  if (markers.length === 0) return '';
  const markerSet = new Set(markers);
  const candidates = new Set<string>();
  for (const p of paths) {
    const segments = p.split('/');
    if (segments.length === 1 && markerSet.has(p)) return '';
    if (segments.length === 2 && markerSet.has(segments[1] ?? ''))
      candidates.add(segments[0] ?? '');
  }
  if (candidates.size === 1) {
    const [only] = candidates;
    return `${only}/`;
  }
  return '';
}

/** One indexed file with whatever the reader needs to open it later. */
export interface IndexedEntry<T> {
  entry: ArchiveEntry;
  ref: T;
}

/**
 * Applies root detection to the (already junk-free, de-duplicated) files and returns the
 * sorted entries plus a path → entry map.
 */
export function buildIndex<T>(
  files: ReadonlyMap<string, { size: number; ref: T }>,
  rootMarkers: readonly string[],
  logger: Logger,
): { root: string; entries: readonly ArchiveEntry[]; byPath: Map<string, IndexedEntry<T>> } {
  const root = detectRoot(files.keys(), rootMarkers);
  const byPath = new Map<string, IndexedEntry<T>>();
  let dropped = 0;
  for (const [path, { size, ref }] of files) {
    if (!path.startsWith(root)) {
      dropped++;
      continue;
    }
    const rel = path.slice(root.length);
    byPath.set(rel, { entry: Object.freeze({ path: rel, size }), ref });
  }
  const entries = Object.freeze(
    [...byPath.values()].map((e) => e.entry).sort((a, b) => comparePaths(a.path, b.path)),
  );
  if (root !== '') {
    logger.debug({ root, outsideRoot: dropped }, 'export is wrapped in a folder; using it as root');
  }
  return { root, entries, byPath };
}
