/**
 * `--room-keys FILE` on the Matrix-origin commands: the key export is read and checked before
 * the store is opened (a wrong passphrase changes nothing), and the run's report gains
 * `room_keys` with what the file held and what the decryptor did.
 */
import type { Logger } from '../logger.js';
import { loadRoomKeys, roomKeysPassphrase, type RoomKeys } from '../e2ee/room-keys.js';
import type { MegolmDecryptor } from '../e2ee/megolm-decryptor.js';

export interface RoomKeysReport {
  file: string;
  sessions_in_file: number;
  sessions_usable: number;
  sessions_skipped: Record<string, number>;
  /** Events decrypted, without a key, failed (bad MAC/signature, malformed); per room in `undecryptable`. */
  events: { decrypted: number; no_key: number; failed: number };
}

export interface LoadedRoomKeys {
  decryptor: MegolmDecryptor;
  report(): RoomKeysReport;
}

export async function roomKeysOption(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): Promise<LoadedRoomKeys | undefined> {
  if (file === undefined) return undefined;
  const keys: RoomKeys = await loadRoomKeys(file, roomKeysPassphrase(env, file));
  logger.info(
    { file, sessions: keys.sessionsInFile, usable: keys.sessionsUsable },
    'room keys loaded',
  );
  return {
    decryptor: keys.decryptor,
    report: () => ({
      file,
      sessions_in_file: keys.sessionsInFile,
      sessions_usable: keys.sessionsUsable,
      sessions_skipped: { ...keys.skipped } as Record<string, number>,
      events: { ...keys.decryptor.outcomes },
    }),
  };
}

export function renderRoomKeys(r: RoomKeysReport): string {
  const skipped = Object.entries(r.sessions_skipped)
    .map(([why, n]) => `${n} ${why}`)
    .join(', ');
  return [
    `Room keys: ${r.file}: ${r.sessions_in_file} sessions, ${r.sessions_usable} usable${skipped === '' ? '' : ` (skipped: ${skipped})`}`,
    `  encrypted events: ${r.events.decrypted} decrypted, ${r.events.no_key} without a key, ${r.events.failed} failed`,
  ].join('\n');
}
