/**
 * The composition root: parses the command line, builds config, logger and store, runs one
 * command, prints its report (text or --json) and turns errors into exit codes.
 */
import { Command, Option } from '@commander-js/extra-typings';
import { isFerryError } from '../errors.js';
import type { Logger } from '../logger.js';
import { redactText } from '../redact.js';
import { storeStatus } from '../store/status.js';
import { openStore, type Store } from '../store/store.js';
import { createCliLogger } from './cli-logger.js';
import { runCheck } from './commands/check.js';
import { runIngestSlack } from './commands/ingest-slack.js';
import { loadConfig, storeSelection } from './config.js';
import { renderContentSummary, renderIngestSummary, renderStatus } from './report.js';

interface GlobalOptions {
  config?: string;
  database?: string;
  dataDir?: string;
  logLevel: string;
}

const program = new Command()
  .name('ferry')
  .description('Move chat history into Matrix with senders, timestamps, threads and reactions intact.')
  .option('-c, --config <file>', 'YAML config file (see config.example.yaml)')
  .option('--database <url>', 'PostgreSQL store URL (default: $DATABASE_URL, else the embedded store)')
  .option('--data-dir <dir>', 'folder of the embedded store (default: ./ferry-data)')
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

async function withStore<T>(globals: GlobalOptions, logger: Logger, fn: (store: Store) => Promise<T>): Promise<T> {
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

program
  .command('check')
  .description('Read an export and report what it holds and what would be lost; writes nothing')
  .argument('<path>', 'Slack export (zip or folder)')
  .option('--json', 'print the summary as JSON')
  .option('--skip-bad-files', 'skip day files that are not valid JSON (counted) instead of failing')
  .option('--workspace-name <name>', 'name of the workspace space')
  .action(async (path, opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const summary = await runCheck(path, {
      skipBadFiles: opts.skipBadFiles === true,
      workspaceName: opts.workspaceName ?? config.slack.workspaceName,
      progress: opts.json !== true,
      logger,
    });
    print(opts.json === true, summary, () => renderContentSummary(summary));
  });

const ingestCommand = program.command('ingest').description('Read an export into the store');

ingestCommand
  .command('slack')
  .description('Ingest a Slack workspace export (zip or folder); re-running adds only what is new')
  .argument('<path>', 'Slack export (zip or folder)')
  .option('--json', 'print the summary as JSON')
  .option('--skip-bad-files', 'skip day files that are not valid JSON (counted) instead of failing')
  .option('--workspace-name <name>', 'name of the workspace space')
  .action(async (path, opts) => {
    const { globals, logger } = context();
    const config = loadConfig(globals.config);
    const summary = await withStore(globals, logger, (store) =>
      runIngestSlack(path, store, {
        skipBadFiles: opts.skipBadFiles === true,
        workspaceName: opts.workspaceName ?? config.slack.workspaceName,
        progress: opts.json !== true,
        logger,
      }),
    );
    print(opts.json === true, summary, () => renderIngestSummary(summary));
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

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (isFerryError(e)) {
    process.stderr.write(`ferry: ${redactText(e.message)}\n`);
    process.exitCode = e.exitCode;
  } else {
    const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
    process.stderr.write(`ferry: internal error (please report it):\n${redactText(text)}\n`);
    process.exitCode = 1;
  }
}
