import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { adminSession, removeTree, underCi } from './zookeeper.js';

// The dashboard as a user meets it: `zk-leader dashboard` started as a program (dist/, so
// `npm run build` first), its page in Debian's Chromium driven by playwright-core.

export const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(chromiumPath);
if (!haveChromium && underCi) throw new Error(`no Chromium at ${chromiumPath}: .ci/run installs Debian's chromium package`);
if (!haveChromium) console.warn(`[zk-leader tests] no Chromium at ${chromiumPath}: the dashboard's browser tests are skipped (apt-get install chromium)`);
/** `describe`, or `describe.skip` without a Chromium (which fails under CI instead). */
export const describeWithBrowser = haveChromium ? describe : describe.skip;

/** `zk-leader dashboard` as a child process, and the URL it printed. */
export async function startDashboardProgram(args: string[]): Promise<{ url: string; child: ChildProcess; stderr: string[] }> {
  const child = spawn(process.execPath, [cli, 'dashboard', '--port', '0', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve((JSON.parse(line) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`the dashboard exited with ${code}: ${stderr.join(' ')}`)));
  });
  return { url, child, stderr };
}

/** Debian's Chromium, headless, kept quiet on a closed network. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    // Chromium's own background traffic finds a closed network here: keep it quiet.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * What a browser test file shares: one Chromium for the file, and after each test the
 * cleanups it registered (last first, failures ignored) and the paths it used removed.
 */
export function browserTestResources() {
  let browser: Browser | undefined;
  const cleanups: (() => unknown)[] = [];
  const paths: string[] = [];
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => {});
    const admin = await adminSession();
    for (const path of paths.splice(0)) await removeTree(admin, path);
    await admin.close();
  });
  return { browser: (): Browser => browser!, cleanups, paths };
}
