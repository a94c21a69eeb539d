/**
 * Debian's Chromium (/usr/bin/chromium, installed by .ci/run when missing), driven headless
 * through playwright-core. Never downloads a browser: the executable path is fixed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface OpenedPage {
  page: Page;
  /** Console messages of type error, and uncaught page errors. */
  errors: string[];
  /** Every URL the page requested (the file itself included). */
  requests: string[];
  close(): Promise<void>;
}

/** Opens a local file in a fresh headless Chromium profile and waits until it has loaded. */
export async function openFile(
  file: string,
  viewport = { width: 1280, height: 900 },
): Promise<OpenedPage> {
  const profile = await mkdtemp(join(tmpdir(), 'ferry-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: FLAGS,
      viewport,
    });
  } catch (e) {
    await rm(profile, { recursive: true, force: true });
    throw e;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  context.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const ctx = context;
  return {
    page,
    errors,
    requests,
    async close() {
      await ctx.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export type { Browser };
