/** `ferry push`: write the store into the homeserver. */
import { FerryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { identityRules } from '../../mapping/identity-rules.js';
import { IdentityMapper } from '../../mapping/identity.js';
import { synapseEmailLookup } from '../../matrix/identity-resolver.js';
import type { CatalogOptions } from '../../matrix/push-catalog.js';
import { MatrixClient } from '../../matrix/client.js';
import { push, type PushSummary } from '../../matrix/push.js';
import { openArchive } from '../../archive/archive-reader.js';
import { readRegistrationFile } from '../../matrix/registration.js';
import type { Store } from '../../store/store.js';
import type { FerryConfig } from '../config.js';
import { createProgress } from '../progress.js';

export interface PushCommandOptions {
  homeserver?: string;
  registration?: string;
  rooms?: string[];
  concurrency?: number;
  downloadMedia?: boolean;
  appendLate: boolean;
  readMarkers?: boolean;
  progress: boolean;
}

/** Client, identity mapping and registration facts shared by push and verify. */
export async function homeserverContext(
  config: FerryConfig,
  o: { homeserver?: string; registration?: string },
  logger: Logger,
) {
  const homeserver = o.homeserver ?? config.matrix.homeserver;
  if (homeserver === undefined) {
    throw new FerryError(
      'config_invalid',
      'no homeserver URL: pass --homeserver or set matrix.homeserver in the config file',
    );
  }
  const registration = await readRegistrationFile(o.registration ?? config.matrix.registration);
  const client = new MatrixClient({ baseUrl: homeserver, asToken: registration.as_token, logger });
  let serverName: string;
  try {
    serverName = await client.serverName();
  } catch (e) {
    throw new FerryError(
      'homeserver_error',
      `cannot reach the homeserver at ${homeserver} as the appservice: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const identity = new IdentityMapper({
    serverName,
    userPrefix: config.matrix.userPrefix,
    aliasPrefix: config.matrix.aliasPrefix,
    template: config.identity.userTemplate,
  });
  const adminToken = process.env.FERRY_ADMIN_TOKEN;
  const hasAdmin = adminToken !== undefined && adminToken !== '';
  if (config.identity.matchEmails && !hasAdmin) {
    throw new FerryError(
      'config_invalid',
      'identity.matchEmails needs an admin access token in $FERRY_ADMIN_TOKEN',
    );
  }
  const catalog: CatalogOptions = {
    rules: identityRules(config.identity),
    lookupEmail: hasAdmin ? synapseEmailLookup(client, adminToken) : undefined,
    roomTargets: config.rooms,
  };
  return {
    client,
    identity,
    registration,
    catalog,
    botUserId: `@${registration.sender_localpart}:${serverName}` as const,
  };
}

export async function runPush(
  store: Store,
  config: FerryConfig,
  o: PushCommandOptions,
  logger: Logger,
): Promise<PushSummary> {
  const { client, identity, registration, catalog } = await homeserverContext(config, o, logger);
  const progress = createProgress('push', o.progress);
  try {
    return await push({
      db: store.knex,
      client,
      identity,
      appserviceId: registration.id,
      botLocalpart: registration.sender_localpart,
      logger,
      concurrency: o.concurrency ?? config.matrix.concurrency,
      rooms: o.rooms,
      appendLate: o.appendLate,
      readMarkers: o.readMarkers ?? config.matrix.readMarkers,
      allowDownload: o.downloadMedia ?? config.matrix.downloadMedia,
      openArchive,
      maxUploadBytes: config.matrix.maxUploadBytes,
      catalog,
      slackToken: nonEmptyEnv('SLACK_TOKEN'),
      imageReactions: config.matrix.imageReactions,
      onProgress: (p) =>
        progress.update(
          p.eventsSent,
          Math.max(p.eventsTotal, p.eventsSent),
          `${p.phase === 'users' ? 'users' : `rooms ${p.roomsDone}/${p.roomsTotal}`} ${p.currentRooms.slice(0, 3).join(' ')}`,
        ),
    });
  } finally {
    progress.stop();
  }
}

function nonEmptyEnv(name: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}
