/** `ferry registration`: write an appservice registration (mode 0600) and print how to load it. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FerryError } from '../../errors.js';
import { createRegistration, writeRegistrationFile } from '../../matrix/registration.js';

export interface RegistrationCommandOptions {
  serverName: string;
  out: string;
  id: string;
  userPrefix: string;
  aliasPrefix: string;
  senderLocalpart?: string;
  exclusive: boolean;
  claimLocalUsers: boolean;
  force: boolean;
}

export interface RegistrationReport {
  path: string;
  id: string;
  server_name: string;
  sender: string;
  user_regex: string;
  alias_regex: string;
  exclusive: boolean;
  /** Lines to add to homeserver.yaml (then restart Synapse). */
  homeserver_yaml: string;
}

export async function runRegistration(o: RegistrationCommandOptions): Promise<RegistrationReport> {
  const path = resolve(o.out);
  if (existsSync(path) && !o.force) {
    throw new FerryError(
      'input_invalid',
      `${o.out} exists; pass --force to replace it (its tokens change, so Synapse must be restarted)`,
    );
  }
  const reg = createRegistration({
    id: o.id,
    serverName: o.serverName,
    userPrefix: o.userPrefix,
    aliasPrefix: o.aliasPrefix,
    senderLocalpart: o.senderLocalpart ?? `${o.userPrefix}bot`,
    exclusive: o.exclusive,
    claimLocalUsers: o.claimLocalUsers,
  });
  await writeRegistrationFile(path, reg);
  return {
    path,
    id: reg.id,
    server_name: o.serverName,
    sender: `@${reg.sender_localpart}:${o.serverName}`,
    user_regex: reg.namespaces.users[0]?.regex ?? '',
    alias_regex: reg.namespaces.aliases[0]?.regex ?? '',
    exclusive: o.exclusive,
    homeserver_yaml: `app_service_config_files:\n  - ${path}`,
  };
}
