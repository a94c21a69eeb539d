/** `ferry verify`: compare what the homeserver shows with the store and the ledger. */
import type { Logger } from '../../logger.js';
import { verifyRooms, type VerifySummary } from '../../matrix/verify.js';
import type { Store } from '../../store/store.js';
import { recordVerifyResult } from '../../store/verify-results.js';
import type { FerryConfig } from '../config.js';
import { createProgress } from '../progress.js';
import { homeserverContext } from './push.js';

export async function runVerify(
  store: Store,
  config: FerryConfig,
  o: {
    homeserver?: string;
    registration?: string;
    rooms?: string[];
    all: boolean;
    progress: boolean;
  },
  logger: Logger,
): Promise<VerifySummary> {
  const { client, botUserId } = await homeserverContext(config, o, logger);
  const progress = createProgress('verify', o.progress);
  try {
    return await verifyRooms({
      db: store.knex,
      client,
      botUserId,
      rooms: o.rooms,
      all: o.all,
      logger,
      onProgress: (d, t) => progress.update(d, t),
      // Each room's findings are kept for `ferry report`.
      onRoom: (v, ok) => recordVerifyResult(store.knex, { ...v, ok }),
    });
  } finally {
    progress.stop();
  }
}
