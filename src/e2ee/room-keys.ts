/**
 * `--room-keys FILE`: reads an Element room key export and builds the decryptor every Matrix
 * source uses. The passphrase comes from `$FERRY_ROOM_KEYS_PASSPHRASE` (never a flag: it would
 * sit in shell history and `ps`); errors name the file, never the passphrase.
 */
import { readFile } from 'node:fs/promises';

import { FerryError } from '../errors.js';
import { parseExportedSessions, type SessionSkipReason } from './exported-session.js';
import { decryptKeyExportText } from './key-export.js';
import { MegolmDecryptor, type SessionLoadSkip } from './megolm-decryptor.js';

export const PASSPHRASE_VARIABLE = 'FERRY_ROOM_KEYS_PASSPHRASE';

export interface RoomKeys {
  readonly decryptor: MegolmDecryptor;
  /** Sessions in the file, usable ones, and the rest by reason. */
  readonly sessionsInFile: number;
  readonly sessionsUsable: number;
  readonly skipped: Partial<Record<SessionSkipReason | SessionLoadSkip, number>>;
}

/** The passphrase from the environment; a clear error when it is not set. */
export function roomKeysPassphrase(env: NodeJS.ProcessEnv, file: string): string {
  const passphrase = env[PASSPHRASE_VARIABLE];
  if (passphrase === undefined || passphrase === '') {
    throw new FerryError(
      'config_invalid',
      `--room-keys ${file}: set $${PASSPHRASE_VARIABLE} to the passphrase the keys were exported with`,
    );
  }
  return passphrase;
}

export async function loadRoomKeys(file: string, passphrase: string): Promise<RoomKeys> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new FerryError('input_not_found', `${file}: no such room key file`);
    throw new FerryError(
      'input_invalid',
      `${file}: cannot read the room key file (${code ?? 'error'})`,
    );
  }
  const parsed = parseExportedSessions(decryptKeyExportText(text, passphrase, file), file);
  const decryptor = new MegolmDecryptor(parsed.sessions);
  return {
    decryptor,
    sessionsInFile: parsed.sessions.length + sum(parsed.skipped),
    sessionsUsable: decryptor.sessionCount,
    skipped: { ...parsed.skipped, ...decryptor.skipped },
  };
}

function sum(counts: Partial<Record<string, number>>): number {
  return Object.values(counts).reduce<number>((a, b) => a + (b ?? 0), 0);
}
