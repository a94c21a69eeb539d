/** `ferry plan`: the push dry run. */
import type { Logger } from '../../logger.js';
import { planPush, type PushPlan } from '../../matrix/plan.js';
import { PushCatalog } from '../../matrix/push-catalog.js';
import type { Store } from '../../store/store.js';
import type { FerryConfig } from '../config.js';
import { homeserverContext } from './push.js';

export async function runPlan(
  store: Store,
  config: FerryConfig,
  o: { homeserver?: string; registration?: string },
  logger: Logger,
): Promise<PushPlan> {
  const { client, identity, catalog } = await homeserverContext(config, o, logger);
  return planPush(store.knex, client, await PushCatalog.load(store.knex, identity, catalog));
}
