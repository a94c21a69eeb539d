/**
 * The Slack adapter: an export archive (zip or folder) → a stream of model items.
 *
 * Memory is bounded by one day file plus ID maps (users, bot IDs, conversation list, the
 * thread roots of the conversation being read): the export itself is never held.
 *
 * Layouts: the standard export (index files and conversation folders at the root), the
 * Enterprise Grid org export (`org_users.json`, plus nested workspace exports under
 * `teams/<name>/`), and the tool-made layouts with file bodies (`__uploads/<ID>/<name>`,
 * `<folder>/attachments/<ID>-<name>`).
 */
import { basename } from 'node:path';
import type { ArchiveReader } from '../../archive/archive-reader.js';
import { jsonArrayEntry } from '../../archive/json-reader.js';
import { FerryError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { RoomKey, RoomRecord, SourceItem, SourceKey } from '../../model/index.js';
import { DayFilePool } from './day-file-pool.js';
import { SLACK_INDEX_FILES, slackConversation, slackIndexPins } from './slack-conversations.js';
import type { DayFileEnv } from './slack-day-file.js';
import { messageItems, type ListedConversation } from './slack-export-messages.js';
import { indexLocalSlackFiles } from './slack-files.js';
import {
  slackDerivedKey,
  slackMessageKey,
  slackOrder,
  slackSourceKey,
  slackSpaceKey,
} from './slack-keys.js';
import { microsToMillis, slackTsToMicros } from './slack-ts.js';
import { SlackPlaceholderCollector, SlackUserDirectory, slackUserRecord } from './slack-users.js';

export interface SlackExportOptions {
  logger?: Logger;
  /** Skip (and count) day files that are not valid JSON instead of failing. */
  skipBadFiles?: boolean;
  /** Display name of the workspace space (exports do not carry one). */
  workspaceName?: string;
  /**
   * Worker threads that map day files (day-file-pool.ts); 0 (the default) maps them on the
   * calling thread. With workers, the events of each day file arrive as one `event_rows` item
   * instead of `event` items.
   */
  workers?: number;
  /** Archives with fewer day files than this are mapped on the calling thread (default 32). */
  workerMinFiles?: number;
}

/**
 * Below this many day files the main thread maps them: a worker takes ~0.35 s to start from the
 * TypeScript sources. The figure is a choice, not a measured break-even point.
 */
const WORKER_MIN_FILES = 32;

const DAY_FILE = /^\d{4}-\d{2}-\d{2}\.json$/;
/** Root files ferry knows and reads. */
const READ_ROOT_FILES = new Set([
  'users.json',
  'org_users.json',
  ...SLACK_INDEX_FILES.map((f) => f.file),
]);

/** An export root: the top level, or a Grid workspace under `teams/<name>/`. */
interface ExportRoot {
  prefix: string;
  /** Grid workspace folder name; undefined for the top level. */
  team?: string;
}

export async function* readSlackExport(
  reader: ArchiveReader,
  options: SlackExportOptions = {},
): AsyncGenerator<SourceItem> {
  const roots = findRoots(reader);
  const userFiles = roots.flatMap((root) => userFilesOf(reader, root));
  if (userFiles.length === 0) {
    throw new FerryError(
      'input_invalid',
      `${reader.label}: users.json is missing; this does not look like a Slack export (expected users.json or org_users.json at its top level)`,
    );
  }
  // Workers start now and boot (a few hundred ms from the TypeScript sources) while the user
  // lists and index files are read.
  const dayFiles = reader.entries().filter((e) => DAY_FILE.test(basename(e.path))).length;
  const workers = dayFiles >= (options.workerMinFiles ?? WORKER_MIN_FILES) ? options.workers : 0;
  const pool = workers !== undefined && workers > 0 ? new DayFilePool(workers) : undefined;
  try {
    yield* exportItems(reader, options, roots, userFiles, pool);
  } finally {
    await pool?.close();
  }
}

async function* exportItems(
  reader: ArchiveReader,
  options: SlackExportOptions,
  roots: ExportRoot[],
  userFiles: string[],
  pool: DayFilePool | undefined,
): AsyncGenerator<SourceItem> {
  // Pass 1 over the user lists: who exists, which bot IDs belong to whom, which workspace.
  const directory = new SlackUserDirectory();
  for (const file of userFiles) {
    for await (const raw of jsonArrayEntry(reader, file)) directory.learn(raw);
  }
  const { source, spaces } = yield* workspaceItems(reader.label, options, roots, directory);
  yield* userItems(reader, userFiles, source);
  const placeholders = new SlackPlaceholderCollector(directory);
  const conversations = yield* conversationItems(reader, roots, source, spaces, placeholders);
  const { dayFiles, localFiles } = yield* classifyEntries(reader, roots, conversations);
  const env: DayFileEnv = { source, users: placeholders, directory, localFiles };
  pool?.init({ source, users: directory.lookups(), localFiles: [...localFiles] });
  yield* messageItems(reader, options, conversations, dayFiles, { env, placeholders, pool });
  for (const user of placeholders.records(source)) yield { type: 'user', user };
}

/** The workspace: its source record, its space, and a space per Grid workspace. */
function* workspaceItems(
  label: string,
  options: SlackExportOptions,
  roots: ExportRoot[],
  directory: SlackUserDirectory,
): Generator<SourceItem, { source: SourceKey; spaces: Map<string, RoomKey> }> {
  const workspaceId = directory.workspaceId() ?? fallbackWorkspaceId(label);
  const source: SourceKey = slackSourceKey(workspaceId);
  const workspaceName = options.workspaceName ?? defaultWorkspaceName(label, workspaceId);
  yield { type: 'source', source: { key: source, kind: 'slack', name: workspaceName } };

  const spaces = new Map<string, RoomKey>();
  const topSpace = slackSpaceKey(workspaceId);
  spaces.set('', topSpace);
  yield { type: 'room', room: spaceRecord(topSpace, source, workspaceId, workspaceName) };
  for (const root of roots) {
    if (root.team === undefined) continue;
    const key = slackSpaceKey(`${workspaceId}:${root.team}`);
    spaces.set(root.prefix, key);
    const record = spaceRecord(key, source, `${workspaceId}:${root.team}`, root.team);
    yield { type: 'room', room: { ...record, parent: topSpace } };
  }
  return { source, spaces };
}

/** Pass 2 over the user lists: the user records themselves, each once. */
async function* userItems(
  reader: ArchiveReader,
  userFiles: string[],
  source: SourceKey,
): AsyncGenerator<SourceItem> {
  const emitted = new Set<string>();
  for (const file of userFiles) {
    for await (const raw of jsonArrayEntry(reader, file)) {
      const user = slackUserRecord(raw, source);
      if (user === undefined) {
        const where = `${reader.label}: ${file}: user entry without an id`;
        yield { type: 'skip', reason: 'malformed_message', where };
      } else if (!emitted.has(user.nativeId)) {
        emitted.add(user.nativeId);
        yield { type: 'user', user };
      }
    }
  }
}

/** Conversations from the index files of every root, each once, with the pins they list. */
async function* conversationItems(
  reader: ArchiveReader,
  roots: ExportRoot[],
  source: SourceKey,
  spaces: Map<string, RoomKey>,
  placeholders: SlackPlaceholderCollector,
): AsyncGenerator<SourceItem, ListedConversation[]> {
  const conversations: ListedConversation[] = [];
  const seen = new Set<string>();
  for (const root of roots) {
    for (const { file, kind } of SLACK_INDEX_FILES) {
      const path = root.prefix + file;
      if (!reader.has(path)) continue;
      for await (const raw of jsonArrayEntry(reader, path)) {
        const conversation = slackConversation(raw, kind, {
          source,
          parent: spaces.get(root.prefix),
          users: placeholders,
          folderPrefix: root.prefix,
        });
        if (conversation === undefined) {
          const where = `${reader.label}: ${path}: entry without an id`;
          yield { type: 'skip', reason: 'malformed_message', where };
          continue;
        }
        if (seen.has(conversation.id)) continue; // listed by the org and by a workspace
        seen.add(conversation.id);
        const { id, folder, room } = conversation;
        conversations.push({ id, folder, room: room.key });
        yield { type: 'room', room };
        yield* indexPinEvents(raw, room, source, placeholders);
      }
    }
  }
  return conversations;
}

/**
 * Classifies every entry: day files per listed conversation folder (sorted), file bodies, and
 * the rest skipped (unsupported entries, folders no index file lists).
 */
function* classifyEntries(
  reader: ArchiveReader,
  roots: ExportRoot[],
  conversations: ListedConversation[],
): Generator<SourceItem, ClassifiedEntries> {
  const label = reader.label;
  const localFiles = indexLocalSlackFiles(reader.entries().map((e) => e.path));
  const dayFiles = new Map<string, string[]>();
  const listedFolders = new Set(conversations.map((c) => c.folder));
  const unlisted = new Map<string, number>();
  for (const { path } of reader.entries()) {
    const slash = path.lastIndexOf('/');
    const folder = slash < 0 ? '' : path.slice(0, slash);
    const name = path.slice(slash + 1);
    const root = roots.find((r) => r.prefix === folder + '/');
    if (slash < 0 || root !== undefined) {
      if (!READ_ROOT_FILES.has(name))
        yield { type: 'skip', reason: 'unsupported_entry', where: `${label}: ${path}` };
      continue;
    }
    if (localFiles.has(fileIdOf(path) ?? '')) continue;
    if (!DAY_FILE.test(name)) {
      yield { type: 'skip', reason: 'unsupported_entry', where: `${label}: ${path}` };
      continue;
    }
    if (!listedFolders.has(folder)) {
      unlisted.set(folder, (unlisted.get(folder) ?? 0) + 1);
      continue;
    }
    const list = dayFiles.get(folder) ?? [];
    list.push(path);
    dayFiles.set(folder, list);
  }
  for (const [folder, count] of unlisted) {
    const where = `${label}: ${folder}/ (${count} day files)`;
    yield { type: 'skip', reason: 'unlisted_conversation', where, count };
  }
  for (const list of dayFiles.values()) list.sort();
  return { dayFiles, localFiles };
}

interface ClassifiedEntries {
  /** Day file paths of each listed conversation folder, in date order. */
  dayFiles: Map<string, string[]>;
  /** File bodies in the export, by file ID. */
  localFiles: Map<string, string>;
}

function findRoots(reader: ArchiveReader): ExportRoot[] {
  const roots: ExportRoot[] = [{ prefix: '' }];
  const teams = new Set<string>();
  for (const { path } of reader.entries()) {
    const match = /^teams\/([^/]+)\/(users|channels|groups|dms|mpims)\.json$/.exec(path);
    if (match?.[1] !== undefined) teams.add(match[1]);
  }
  for (const team of [...teams].sort()) roots.push({ prefix: `teams/${team}/`, team });
  return roots;
}

function userFilesOf(reader: ArchiveReader, root: ExportRoot): string[] {
  for (const name of ['org_users.json', 'users.json']) {
    if (reader.has(root.prefix + name)) return [root.prefix + name];
  }
  return [];
}

export function* indexPinEvents(
  raw: unknown,
  room: RoomRecord,
  source: SourceKey,
  users: SlackPlaceholderCollector,
): Generator<SourceItem> {
  for (const pin of slackIndexPins(raw)) {
    const micros = slackTsToMicros(pin.ts);
    if (micros === undefined) continue;
    const target = slackMessageKey(room.nativeId, micros);
    yield {
      type: 'event',
      event: {
        key: slackDerivedKey(target, 'pin'),
        room: room.key,
        sender:
          pin.user !== undefined ? users.user(pin.user) : (room.creator ?? users.user('USLACKBOT')),
        order: slackOrder.pin(micros),
        ts: microsToMillis(micros),
        source,
        nativeId: `${pin.ts}/pin`,
        kind: 'pin',
        target,
        pinned: true,
      },
    };
  }
}

function spaceRecord(key: RoomKey, source: SourceKey, nativeId: string, name: string): RoomRecord {
  return {
    key,
    source,
    nativeId,
    kind: 'space',
    name,
    isArchived: false,
    isGeneral: false,
    members: [],
  };
}

function fileIdOf(path: string): string | undefined {
  return /(?:__uploads\/|attachments\/)(F[A-Z0-9]+)/.exec(path)?.[1];
}

function fallbackWorkspaceId(label: string): string {
  return `export:${defaultWorkspaceName(label, '')}`;
}

/** "Acme Slack export Jan 1 2024 - Mar 1 2024.zip" → "Acme"; otherwise the file or folder name. */
function defaultWorkspaceName(label: string, workspaceId: string): string {
  const name = basename(label).replace(/\.zip$/i, '');
  const slackPattern = /^(.+?) Slack export\b/i.exec(name);
  return slackPattern?.[1] ?? (name !== '' ? name : workspaceId);
}
