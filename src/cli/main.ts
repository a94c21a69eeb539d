/**
 * The composition root: parses the command line, builds config, logger and store, runs one
 * command, prints its report (text or --json) and turns errors into exit codes.
 */
import { Command, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { isFerryError, WorkerCrash } from '../errors.js';
import { defaultDayFileWorkers } from '../sources/slack/day-file-pool.js';
import type { Logger } from '../logger.js';
import { redactText } from '../redact.js';
import { storeStatus } from '../store/status.js';
import { openStore, type Store } from '../store/store.js';
import { createCliLogger } from './cli-logger.js';
import { runCheck } from './commands/check.js';
import { runIngest } from './commands/ingest.js';
import { renderSlackApiReport, runIngestSlackApi } from './commands/ingest-slack-api.js';
import {
  matrixIngestSetup,
  renderMatrixReport,
  runIngestMatrix,
} from './commands/ingest-matrix.js';
import { renderEnrichSlackReport, runEnrichSlack } from './commands/enrich-slack.js';
import { runPlan } from './commands/plan.js';
import { runPush } from './commands/push.js';
import {
  buildMigrationReport,
  checkReportPath,
  renderReportText,
  writeReportFile,
} from './commands/report.js';
import { renderMigrationReportHtml } from './migration-report-html.js';
import { runVerify } from './commands/verify.js';
import { runRegistration } from './commands/registration.js';
import { loadConfig, roomMergeMap, storeSelection } from './config.js';
import { renderRoomKeys, roomKeysOption, type LoadedRoomKeys } from './room-keys.js';
import {
  renderContentSummary,
  renderIngestSummary,
  renderPlan,
  renderPushSummary,
  renderStatus,
  renderVerifySummary,
} from './report.js';

function workerCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    throw new InvalidArgumentError('expected a whole number from 0 to 64');
  }
  return n;
}

function refetchDays(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 3650) {
    throw new InvalidArgumentError('expected a number of days from 0 to 3650');
  }
  return n;
}

function pageSize(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  }
  return n;
}

function roomList(value: string): string[] {
  const rooms = value
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (rooms.length === 0 || rooms.some((r) => !/^[!#][^\s]+$/.test(r))) {
    throw new InvalidArgumentError('expected room IDs (!…) or aliases (#…), comma-separated');
  }
  return rooms;
}

function tierLimits(value: string): Partial<Record<1 | 2 | 3 | 4, number>> {
  const out: Partial<Record<1 | 2 | 3 | 4, number>> = {};
  for (const part of value.split(',')) {
    const match = /^\s*([1-4])\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (match === null || Number(match[2]) <= 0) {
      throw new InvalidArgumentError('expected tier=requests per minute pairs, e.g. 2=20,3=50');
    }
    out[Number(match[1]) as 1 | 2 | 3 | 4] = Number(match[2]);
  }
  return out;
}

interface GlobalOptions {
  config?: string;
  database?: string;
  dataDir?: string;
  logLevel: string;
}

const program = new Command()
  .name('ferry')
  .description(
    'Move chat history into Matrix with senders, timestamps, threads and reactions intact.',
  )
  .option('-c, --config <file>', 'YAML config file (see config.example.yaml)')
  .option(
    '--database <url>',
    'PostgreSQL store URL (default: $DATABASE_URL, else the embedded store)',
  )
  .option(
    '--data-dir <dir>',
    'folder of the embedded PGlite store (default: ./ferry-data; an ingest peaks at ~380-440 MB of memory, ~250-280 MB on PostgreSQL; use --database for big runs)',
  )
  .addOption(
    new Option('--log-level <level>', 'log level on stderr')
      .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('warn'),
  )
  .showHelpAfterError();

function context(): { globals: GlobalOptions; logger: Logger } {
  const globals = program.opts() as GlobalOptions;
  return { globals, logger: createCliLogger(globals.logLevel) };
}

async function withStore<T>(
  globals: GlobalOptions,
  logger: Logger,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  const config = loadConfig(globals.config);
  const selection = storeSelection(globals, config);
  const store = await openStore({ ...selection, logger });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

const ROOM_KEYS_HELP =
  'Element "Export E2E room keys" file: decrypt m.room.encrypted events (passphrase in $FERRY_ROOM_KEYS_PASSPHRASE)';

/** Prints a Matrix-origin summary with its `room_keys` report (null without --room-keys). */
function printWithKeys<S extends object>(
  json: boolean,
  summary: S,
  keys: LoadedRoomKeys | undefined,
  text: (s: S) => string,
): void {
  const report = keys?.report() ?? null;
  print(json, { ...summary, room_keys: report }, () =>
    report === null ? text(summary) : `${text(summary)}\n${renderRoomKeys(report)}`,
  );
}

program
  .command('check')
  .description('Read an export and report what it holds and what would be lost; writes nothing')
  .argument(
    '<path>',
    'the export: Slack zip or folder, Element JSON/zip/folder, matrix-archive file',
  )
  .addOption(
    new Option('--kind <kind>', 'what the export is')
      .choices(['slack', 'element', 'matrix-archive'] as const)
      .default('slack' as const),
  )
  .option('--json', 'print the summary as JSON')
  .option(
    '--skip-bad-files',
    'Slack: skip day files that are not valid JSON (counted) instead of failing',
  )
  .option('--workspace-name <name>', 'Slack: name of the workspace space')
  .option(
    '--workers <n>',
    'Slack: threads that map day files (default: cores - 1, from 1 to 4; 0: none)',
    workerCount,
  )
  .option('--server-name <name>', 'matrix-archive: server name of localpart-only senders')
  .option('--timezone <zone>', 'matrix-archive: IANA time zone of its naive timestamps', 'UTC')
  .option('--room-keys <file>', `Element and matrix-archive: ${ROOM_KEYS_HELP}`)
  .action(async (path, opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const keys = await roomKeysOption(opts.roomKeys, process.env, logger);
    const summary = await runCheck(opts.kind, path, {
      decryptor: keys?.decryptor,
      logger,
      skipBadFiles: opts.skipBadFiles === true,
      workspaceName: opts.workspaceName ?? config.slack.workspaceName,
      workers: opts.workers ?? defaultDayFileWorkers(),
      serverName: opts.serverName,
      timezone: opts.timezone,
      roomAliases: roomMergeMap(config),
      progress: opts.json !== true,
    });
    printWithKeys(opts.json === true, summary, keys, renderContentSummary);
  });

const ingestCommand = program
  .command('ingest')
  .description('Read an export into the store; re-running adds only what is new');

ingestCommand
  .command('slack')
  .description('Ingest a Slack workspace export (zip or folder)')
  .argument('<path>', 'Slack export (zip or folder)')
  .option('--json', 'print the summary as JSON')
  .option('--skip-bad-files', 'skip day files that are not valid JSON (counted) instead of failing')
  .option('--workspace-name <name>', 'name of the workspace space')
  .option(
    '--workers <n>',
    'threads that map day files (default: cores - 1, from 1 to 4; 0: none)',
    workerCount,
  )
  .action(async (path, opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const summary = await withStore(globals, logger, (store) =>
      runIngest('slack', path, store, {
        logger,
        skipBadFiles: opts.skipBadFiles === true,
        workspaceName: opts.workspaceName ?? config.slack.workspaceName,
        workers: opts.workers ?? defaultDayFileWorkers(),
        progress: opts.json !== true,
      }),
    );
    print(opts.json === true, summary, () => renderIngestSummary(summary));
  });

ingestCommand
  .command('slack-api')
  .description(
    'Ingest a live Slack workspace through the Web API (token in $SLACK_TOKEN); incremental and resumable',
  )
  .option('--api-url <url>', 'Web API base URL (a proxy, a test server)', 'https://slack.com/api/')
  .option(
    '--refetch-days <days>',
    're-read this many days before each conversation’s watermark for edits, reactions and replies',
    refetchDays,
    7,
  )
  .option('--workspace-name <name>', 'name of the workspace space (default: team.info’s name)')
  .option(
    '--tier-limits <list>',
    'requests per minute by Slack rate tier, e.g. 2=20,3=50,4=100 (default: Slack’s documented limits)',
    tierLimits,
  )
  .option('--json', 'print the summary as JSON')
  .action(async (opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const report = await withStore(globals, logger, (store) =>
      runIngestSlackApi(store, {
        logger,
        apiUrl: opts.apiUrl,
        refetchDays: opts.refetchDays,
        workspaceName: opts.workspaceName ?? config.slack.workspaceName,
        tierLimits: opts.tierLimits,
        progress: opts.json !== true,
        onNotice: (message) => process.stderr.write(`ferry: warning: ${message}\n`),
      }),
    );
    print(
      opts.json === true,
      report,
      () => `${renderIngestSummary(report)}\n${renderSlackApiReport(report.api)}`,
    );
  });

ingestCommand
  .command('matrix')
  .description(
    'Ingest rooms of a live Matrix homeserver with a user’s access token (in $MATRIX_TOKEN); incremental and resumable',
  )
  .requiredOption(
    '--homeserver <url>',
    'base URL of the homeserver, e.g. https://matrix.example.org',
  )
  .option(
    '--rooms <list>',
    'comma-separated room IDs (!…) or aliases (#…) to read (default: every joined room)',
    roomList,
  )
  .option('--space <room>', 'read this space (ID or alias) and its child rooms')
  .option(
    '--media-dir <dir>',
    'folder for downloaded (and decrypted) file bodies; push reads them from there (default ./ferry-media/<host>)',
  )
  .option('--room-keys <file>', ROOM_KEYS_HELP)
  .option('--page-size <n>', 'events per /messages request (1 to 1000)', pageSize, 1000)
  .option('--json', 'print the summary as JSON')
  .addHelpText(
    'after',
    `
The access token is read from $MATRIX_TOKEN only, never from a flag. Each room is read back to
its creation event (or to where its history visibility hides older events), page by page; each
page is committed with the room's pagination token, so a rerun reads only newer events and a
killed run resumes where it stopped. Rooms the token cannot read are skipped and counted.

Exit codes: 0 done; 2 no or rejected token, bad option, bad room keys; 3 homeserver
unreachable or failing, store unavailable.`,
  )
  .action(async (opts) => {
    const { globals, logger } = context();
    const o = {
      logger,
      homeserver: opts.homeserver,
      rooms: opts.rooms,
      space: opts.space,
      mediaDir: opts.mediaDir,
      pageSize: opts.pageSize,
      progress: opts.json !== true,
    };
    matrixIngestSetup(o);
    const keys = await roomKeysOption(opts.roomKeys, process.env, logger);
    const report = await withStore(globals, logger, (store) =>
      runIngestMatrix(store, { ...o, decryptor: keys?.decryptor }),
    );
    printWithKeys(
      opts.json === true,
      report,
      keys,
      (r) => `${renderIngestSummary(r)}\n${renderMatrixReport(r.homeserver)}`,
    );
  });

ingestCommand
  .command('element')
  .description(
    'Ingest an Element "Export Chat" JSON export (bare .json, zip or folder); exports of one room merge',
  )
  .argument('<path>', 'Element export')
  .option('--room-keys <file>', ROOM_KEYS_HELP)
  .option('--json', 'print the summary as JSON')
  .action(async (path, opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const keys = await roomKeysOption(opts.roomKeys, process.env, logger);
    const summary = await withStore(globals, logger, (store) =>
      runIngest('element', path, store, {
        logger,
        roomAliases: roomMergeMap(config),
        decryptor: keys?.decryptor,
        progress: opts.json !== true,
      }),
    );
    printWithKeys(opts.json === true, summary, keys, renderIngestSummary);
  });

ingestCommand
  .command('matrix-archive')
  .description(
    'Ingest a matrix-archive dump: JSON/YAML export, mongoexport JSON lines, or raw event files',
  )
  .argument('<path>', 'matrix-archive file')
  .option('--server-name <name>', 'server name of localpart-only senders (JSON/YAML exports)')
  .option('--timezone <zone>', 'IANA time zone the dump’s naive timestamps were written in', 'UTC')
  .option('--room-keys <file>', ROOM_KEYS_HELP)
  .option('--json', 'print the summary as JSON')
  .action(async (path, opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const keys = await roomKeysOption(opts.roomKeys, process.env, logger);
    const summary = await withStore(globals, logger, (store) =>
      runIngest('matrix-archive', path, store, {
        logger,
        serverName: opts.serverName,
        timezone: opts.timezone,
        roomAliases: roomMergeMap(config),
        decryptor: keys?.decryptor,
        progress: opts.json !== true,
      }),
    );
    printWithKeys(opts.json === true, summary, keys, renderIngestSummary);
  });

const enrichCommand = program
  .command('enrich')
  .description('Optional: fill in what an export leaves out, from the source’s own API');

enrichCommand
  .command('slack')
  .description('Fetch user emails and custom emoji from the Slack Web API (token in $SLACK_TOKEN)')
  .option('--emails', 'fill missing emails and real names (scopes users:read, users:read.email)')
  .option('--emoji', 'store the custom emoji (scope emoji:read)')
  .option('--token-env <name>', 'environment variable that holds the Slack token', 'SLACK_TOKEN')
  .option(
    '--source <key>',
    'Slack source to enrich (slack:T… or workspace ID) if the store has several',
  )
  .option('--json', 'print the report as JSON')
  .action(async (opts) => {
    const { globals, logger } = context();
    const report = await withStore(globals, logger, (store) =>
      runEnrichSlack(store, {
        emails: opts.emails === true,
        emoji: opts.emoji === true,
        tokenEnv: opts.tokenEnv,
        source: opts.source,
        logger,
      }),
    );
    print(opts.json === true, report, () => renderEnrichSlackReport(report));
  });

program
  .command('status')
  .description('Show what the store holds')
  .option('--json', 'print the status as JSON')
  .action(async (opts) => {
    const { globals, logger } = context();
    const status = await withStore(globals, logger, storeStatus);
    print(opts.json === true, status, () => renderStatus(status));
  });

program
  .command('report')
  .description(
    'The migration report from the store and the ledger (no network): per room, totals, timeline, losses',
  )
  .option('--html <file>', 'write it as one self-contained HTML page')
  .option('--json', 'print the report data as JSON')
  .action(async (opts) => {
    const { globals, logger } = context();
    const path = opts.html === undefined ? undefined : checkReportPath(opts.html);
    const report = await withStore(globals, logger, buildMigrationReport);
    if (path !== undefined) {
      writeReportFile(path, renderMigrationReportHtml(report));
      if (opts.json !== true)
        process.stdout.write(`Wrote ${path} (${report.rooms.length} rooms)\n`);
    }
    if (opts.json === true || path === undefined) {
      print(opts.json === true, report, () => renderReportText(report));
    }
  });

program
  .command('registration')
  .description('Write an appservice registration file (mode 0600) for the homeserver')
  .requiredOption('--server-name <name>', "the homeserver's server_name")
  .option('--out <file>', 'where to write it', 'ferry-registration.yaml')
  .option('--id <id>', 'appservice ID', 'ferry')
  .option('--user-prefix <prefix>', 'localpart prefix of imported users (config matrix.userPrefix)')
  .option('--alias-prefix <prefix>', 'localpart prefix of room aliases (config matrix.aliasPrefix)')
  .option(
    '--sender-localpart <localpart>',
    'localpart of the appservice bot (default <user prefix>bot)',
  )
  .option(
    '--non-exclusive',
    'do not claim the namespaces exclusively (for the switch after the import)',
  )
  .option(
    '--claim-local-users',
    'also let ferry write as existing local accounts (identity mapping), non-exclusively',
  )
  .option('--force', 'replace an existing file')
  .option('--json', 'print the result as JSON')
  .action(async (opts) => {
    const { globals } = context();
    const config = loadConfig(globals.config);
    const report = await runRegistration({
      serverName: opts.serverName,
      out: opts.out,
      id: opts.id,
      userPrefix: opts.userPrefix ?? config.matrix.userPrefix,
      aliasPrefix: opts.aliasPrefix ?? config.matrix.aliasPrefix,
      senderLocalpart: opts.senderLocalpart,
      exclusive: opts.nonExclusive !== true,
      claimLocalUsers: opts.claimLocalUsers === true,
      force: opts.force === true,
    });
    print(opts.json === true, report, () =>
      [
        `Wrote ${report.path} (mode 0600): appservice ${report.id}, bot ${report.sender}`,
        `  users   ${report.user_regex}${report.exclusive ? ' (exclusive)' : ''}`,
        `  aliases ${report.alias_regex}`,
        'Add to homeserver.yaml, then restart Synapse:',
        report.homeserver_yaml.replace(/^/gm, '  '),
      ].join('\n'),
    );
  });

program
  .command('plan')
  .description('Dry run of push: the identity mapping and what would be created; writes nothing')
  .option('--homeserver <url>', 'client-server API base URL (config matrix.homeserver)')
  .option('--registration <file>', 'appservice registration file (config matrix.registration)')
  .option('--json', 'print the plan as JSON')
  .action(async (opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const plan = await withStore(globals, logger, (store) =>
      runPlan(
        store,
        config,
        { homeserver: opts.homeserver, registration: opts.registration },
        logger,
      ),
    );
    print(opts.json === true, plan, () => renderPlan(plan));
  });

program
  .command('push')
  .description('Write the store into the homeserver: users, spaces, rooms, then each room in order')
  .option('--homeserver <url>', 'client-server API base URL (config matrix.homeserver)')
  .option('--registration <file>', 'appservice registration file (config matrix.registration)')
  .option('--rooms <list>', 'only these rooms: comma-separated names, #names or IDs', (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  )
  .option('--concurrency <n>', 'rooms written in parallel', (v) => Number.parseInt(v, 10))
  .option('--download-media', 'download file bodies that are not in the export from their URLs')
  .option(
    '--append-late',
    'also send events older than what a room already shows (appended at the end)',
  )
  .option('--no-read-markers', 'do not mark imported rooms as read')
  .option('--json', 'print the summary as JSON')
  .action(async (opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const summary = await withStore(globals, logger, (store) =>
      runPush(
        store,
        config,
        {
          homeserver: opts.homeserver,
          registration: opts.registration,
          rooms: opts.rooms,
          concurrency: opts.concurrency,
          downloadMedia: opts.downloadMedia,
          appendLate: opts.appendLate === true,
          readMarkers: opts.readMarkers,
          progress: opts.json !== true,
        },
        logger,
      ),
    );
    print(opts.json === true, summary, () => renderPushSummary(summary));
    if (summary.rooms.failed > 0) process.exitCode = 3;
  });

program
  .command('verify')
  .description('Read every migrated room back from the homeserver and compare it with the store')
  .option('--homeserver <url>', 'client-server API base URL (config matrix.homeserver)')
  .option('--registration <file>', 'appservice registration file (config matrix.registration)')
  .option('--rooms <list>', 'only these rooms (room keys, comma-separated)', (v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  )
  .option('--all', 'list every room in the report, not only rooms with a problem')
  .option('--json', 'print the summary as JSON')
  .action(async (opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const summary = await withStore(globals, logger, (store) =>
      runVerify(
        store,
        config,
        {
          homeserver: opts.homeserver,
          registration: opts.registration,
          rooms: opts.rooms,
          all: opts.all === true,
          progress: opts.json !== true,
        },
        logger,
      ),
    );
    print(opts.json === true, summary, () => renderVerifySummary(summary));
    if (!summary.ok) process.exitCode = 4;
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (isFerryError(e)) {
    process.stderr.write(`ferry: ${redactText(e.message)}\n`);
    process.exitCode = e.exitCode;
  } else if (e instanceof WorkerCrash) {
    // One line for the user; the worker's stack only in the debug log.
    const logger = createCliLogger((program.opts() as GlobalOptions).logLevel);
    logger.debug({ file: e.file, stack: redactText(e.detail) }, 'worker thread crash');
    process.stderr.write(`ferry: ${redactText(e.message)} (trace: --log-level debug)\n`);
    process.exitCode = 1;
  } else {
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`ferry: internal error (please report it):\n${redactText(text)}\n`);
    process.exitCode = 1;
  }
}
