/**
 * A Slack workspace's custom emoji as a Matrix image pack (MSC2545, the `im.ponies.room_emotes`
 * state event that Element, Cinny, FluffyChat and others read; state key '' for the room's
 * default pack).
 *
 * Contract (pure, no I/O):
 * - input: custom name → `mxc://` URI (images already uploaded), plus the pack's display name;
 * - output: `{ images: { <shortcode>: { url, body } }, pack: { display_name, usage } }`;
 *   `usage: ['emoticon', 'sticker']` lets clients offer them both in the composer and as
 *   reactions;
 * - shortcodes are the Slack names unchanged (`party-parrot`, `+1_custom`), sorted, so the same
 *   input gives byte-identical content (idempotent state sends);
 * - names whose value is not an `mxc://` URI are left out (an upload that failed);
 * - `avatarUrl` becomes `pack.avatar_url` when given.
 */

export const IMAGE_PACK_EVENT_TYPE = 'im.ponies.room_emotes';

export interface ImagePackImage {
  url: string;
  /** Fallback text (the shortcode between colons). */
  body: string;
}

export interface ImagePackContent {
  images: Record<string, ImagePackImage>;
  pack: {
    display_name: string;
    avatar_url?: string;
    usage: ('emoticon' | 'sticker')[];
  };
}

export function buildEmojiPack(
  mxcByName: ReadonlyMap<string, string>,
  displayName: string,
  avatarUrl?: string,
): ImagePackContent {
  const images: Record<string, ImagePackImage> = {};
  for (const name of [...mxcByName.keys()].sort()) {
    const url = mxcByName.get(name);
    if (url === undefined || !url.startsWith('mxc://')) continue;
    images[name] = { url, body: `:${name}:` };
  }
  return {
    images,
    pack: {
      display_name: displayName,
      ...(avatarUrl !== undefined && avatarUrl.startsWith('mxc://')
        ? { avatar_url: avatarUrl }
        : {}),
      usage: ['emoticon', 'sticker'],
    },
  };
}
