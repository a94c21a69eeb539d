/**
 * Size accounting for Matrix event content.
 *
 * Synapse rejects any event whose PDU (content plus sender, room ID, hashes, signatures, auth and
 * prev event IDs…) is larger than 65,536 bytes of canonical JSON (`M_TOO_LARGE`). ferry cannot
 * see the final PDU, so it keeps the *content* well under the limit and leaves the rest as a
 * margin for the envelope.
 *
 * Sizes are measured the way JSON is put on the wire: UTF-8, with `"`, `\` and control
 * characters escaped (`JSON.stringify` and Synapse's canonical JSON agree on this closely
 * enough for a limit with a margin of several kilobytes).
 */

/** Largest content ferry sends, in bytes of UTF-8 JSON. */
export const MAX_CONTENT_BYTES = 60_000;

/** Size of `content` as UTF-8 JSON. */
export function contentBytes(content: unknown): number {
  return Buffer.byteLength(JSON.stringify(content), 'utf8');
}

/** Bytes one code point takes inside a JSON string literal (UTF-8, escapes included). */
export function jsonCodePointBytes(cp: number): number {
  if (cp === 0x22 || cp === 0x5c) return 2;
  if (cp < 0x20)
    return cp === 0x08 || cp === 0x09 || cp === 0x0a || cp === 0x0c || cp === 0x0d ? 2 : 6;
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  // A lone surrogate is written as a `\udxxx` escape.
  if (cp >= 0xd800 && cp <= 0xdfff) return 6;
  if (cp < 0x10000) return 3;
  return 4;
}

/**
 * Splits `text` into chunks whose JSON string size (without the quotes) is at most `maxBytes`
 * each. The chunks concatenate back to `text` exactly.
 *
 * Cuts only between code points (never inside a surrogate pair), avoids cutting inside an emoji
 * sequence (before a joiner, variation selector, skin-tone modifier or combining mark), and
 * prefers the last line break, then the last space, in the second half of a chunk.
 *
 * @throws RangeError when `maxBytes` is too small to hold any code point (< 6).
 */
export function splitJsonText(text: string, maxBytes: number): string[] {
  if (maxBytes < 6) throw new RangeError(`chunk size too small: ${maxBytes}`);
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = findCut(text, start, maxBytes);
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks.length === 0 ? [''] : chunks;
}

/** The end (exclusive, UTF-16 index) of the chunk that starts at `start`. */
function findCut(text: string, start: number, maxBytes: number): number {
  let bytes = 0;
  let lastNewline = -1;
  let lastSpace = -1;
  let i = start;
  while (i < text.length) {
    const cp = text.codePointAt(i) ?? 0;
    const cost = jsonCodePointBytes(cp);
    if (bytes + cost > maxBytes) break;
    bytes += cost;
    i += cp > 0xffff ? 2 : 1;
    if (cp === 0x0a) lastNewline = i;
    else if (cp === 0x20 || cp === 0x09) lastSpace = i;
  }
  if (i >= text.length) return text.length;

  const half = start + Math.floor((i - start) / 2);
  if (lastNewline > half) return lastNewline;
  if (lastSpace > half) return lastSpace;
  // Hard cut: step back out of an emoji/combining sequence, but not past the chunk's start.
  let cut = i;
  for (let steps = 0; steps < 16 && isSequenceBoundaryInside(text, cut); steps++) {
    const previous = previousCodePointStart(text, cut);
    if (previous <= start) break;
    cut = previous;
  }
  // A sequence longer than that (or the whole chunk) is cut where it is: still valid UTF-8.
  return isSequenceBoundaryInside(text, cut) ? i : cut;
}

/** True when cutting at `index` would split a grapheme-like sequence. */
function isSequenceBoundaryInside(text: string, index: number): boolean {
  const next = text.codePointAt(index) ?? 0;
  const prevStart = previousCodePointStart(text, index);
  const prev = text.codePointAt(prevStart) ?? 0;
  return prev === 0x200d || isContinuation(next);
}

/** Code points that attach to the one before them. */
function isContinuation(cp: number): boolean {
  return (
    cp === 0x200d || // zero-width joiner
    (cp >= 0xfe00 && cp <= 0xfe0f) || // variation selectors
    (cp >= 0x1f3fb && cp <= 0x1f3ff) || // skin-tone modifiers
    (cp >= 0x0300 && cp <= 0x036f) || // combining diacritical marks
    (cp >= 0x20d0 && cp <= 0x20ff) || // combining marks for symbols (keycaps)
    (cp >= 0xe0020 && cp <= 0xe007f) // tag characters (subdivision flags)
  );
}

function previousCodePointStart(text: string, index: number): number {
  if (index <= 0) return 0;
  const low = text.charCodeAt(index - 1);
  if (low >= 0xdc00 && low <= 0xdfff && index >= 2) {
    const high = text.charCodeAt(index - 2);
    if (high >= 0xd800 && high <= 0xdbff) return index - 2;
  }
  return index - 1;
}
