/**
 * Slack emoji shortcodes → unicode, from the generated `emoji-data.json` (iamcal names, the
 * same ones Slack uses; regenerate with `npx tsx scripts/gen-emoji.ts`).
 */
import rawData from './emoji-data.json' with { type: 'json' };

/** Shape of emoji-data.json; see scripts/gen-emoji.ts for how it is built. */
interface EmojiData {
  /** short name (every alias) → unicode string */
  names: Record<string, string>;
  /** base unicode string → tone key ("2".."6", or "N-M" for two-person emoji) → unicode */
  skins: Record<string, Record<string, string>>;
}

const data: EmojiData = rawData;

const SKIN_SUFFIX = /^(.*?)::skin-tone-([1-6](?:-[1-6])?)$/;

/**
 * Resolves a Slack emoji name to its unicode string.
 *
 * Accepts a bare short name (`thumbsup`, `+1`, `flag-us`), optionally with surrounding colons
 * (`:wave:`), and Slack's skin-tone suffix `name::skin-tone-N` (N = 2..6; `N-M` for
 * two-person emoji such as `handshake::skin-tone-2-5`).
 *
 * Returns `undefined` for custom workspace emoji and any name iamcal's data does not know
 * (including Slack's legacy private names like `simple_smile`); callers render those as
 * `:name:`. A tone the emoji does not support (or `skin-tone-1`, Slack's "default") yields the
 * base emoji rather than `undefined`, so the emoji is not lost.
 */
export function emojiFromShortcode(name: string): string | undefined {
  let base = name.replace(/^:/, '').replace(/:$/, '');
  let tone: string | undefined;
  const match = SKIN_SUFFIX.exec(base);
  if (match) {
    base = match[1] ?? '';
    tone = match[2];
  }
  if (!Object.hasOwn(data.names, base)) return undefined;
  const unicode = data.names[base];
  if (unicode === undefined) return undefined;
  if (tone === undefined) return unicode;
  const tones = Object.hasOwn(data.skins, unicode) ? data.skins[unicode] : undefined;
  return (tones && Object.hasOwn(tones, tone) ? tones[tone] : undefined) ?? unicode;
}

/**
 * Converts rich-text emoji `unicode` fields (hex code points joined by `-`, e.g. `1f44b-1f3fc`)
 * to a string. Returns `undefined` when the field is malformed.
 */
export function emojiFromCodePoints(hex: string): string | undefined {
  const parts = hex.split('-');
  const points: number[] = [];
  for (const part of parts) {
    if (!/^[0-9a-fA-F]{1,6}$/.test(part)) return undefined;
    const point = Number.parseInt(part, 16);
    if (point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return undefined;
    points.push(point);
  }
  return points.length === 0 ? undefined : String.fromCodePoint(...points);
}
