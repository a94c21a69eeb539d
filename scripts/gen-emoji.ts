/**
 * Generates `src/mapping/emoji-data.json` from emoji-datasource (iamcal's data set, which is
 * where Slack's shortcode names come from). Run with `npx tsx scripts/gen-emoji.ts` after
 * bumping emoji-datasource and commit the result.
 *
 * Output shape (see `EmojiData` in src/mapping/emoji.ts):
 *   names: every short name (all `short_names`) → unicode string
 *   skins: base unicode string → tone key → unicode string, where the tone key is Slack's
 *          `skin-tone-N` suffix without the prefix: "2".."6", or "N-M" for two-person emoji.
 * Keying skins by the base emoji (not its name) lets aliases such as `+1`/`thumbsup` share one
 * entry.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface SourceEmoji {
  unified: string;
  short_names: string[];
  skin_variations?: Record<string, { unified: string }>;
}

const require = createRequire(import.meta.url);
const sourcePath = require.resolve('emoji-datasource/emoji.json');
const outPath = fileURLToPath(new URL('../src/mapping/emoji-data.json', import.meta.url));

// Fitzpatrick modifiers U+1F3FB..U+1F3FF are Slack's skin-tone-2..skin-tone-6.
const toneOf: Record<string, string> = {
  '1F3FB': '2',
  '1F3FC': '3',
  '1F3FD': '4',
  '1F3FE': '5',
  '1F3FF': '6',
};

function unicodeOf(unified: string): string {
  return String.fromCodePoint(...unified.split('-').map((hex) => Number.parseInt(hex, 16)));
}

const source = JSON.parse(readFileSync(sourcePath, 'utf8')) as SourceEmoji[];
const names: Record<string, string> = {};
const skins: Record<string, Record<string, string>> = {};

for (const emoji of source) {
  const base = unicodeOf(emoji.unified);
  for (const name of emoji.short_names) names[name] = base;
  if (!emoji.skin_variations) continue;
  const tones: Record<string, string> = {};
  for (const [key, variation] of Object.entries(emoji.skin_variations)) {
    const parts = key.split('-').map((hex) => toneOf[hex.toUpperCase()]);
    if (parts.some((p) => p === undefined)) continue;
    // "3-3" (same tone for both people) is also reachable as plain "3".
    const toneKey = parts.length === 2 && parts[0] === parts[1] ? parts[0]! : parts.join('-');
    tones[toneKey] = unicodeOf(variation.unified);
  }
  skins[base] = tones;
}

// Stable output: sorted keys so regenerating produces a minimal diff.
const sorted = <T>(obj: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

writeFileSync(outPath, JSON.stringify({ names: sorted(names), skins: sorted(skins) }) + '\n');
process.stdout.write(
  `wrote ${outPath}: ${Object.keys(names).length} names, ${Object.keys(skins).length} with skin tones\n`,
);
