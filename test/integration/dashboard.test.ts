import { spawn } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ExampleProcess, startWorker } from '../../examples/support/processes.js';
import type { BackendName } from '../../src/client/types.js';
import { LeaderElection } from '../../src/election.js';
import type { ZooKeeperHandle } from '../../src/testing/index.js';
import { cli, describeWithBrowser, startDashboardProgram, browserTestResources } from '../support/dashboard.js';
import { sleep } from '../support/events.js';
import { backends, itWithOwnServers, startOwnZooKeeper, uniquePath, zkConnect } from '../support/zookeeper.js';

// The dashboard as a user meets it: `zk-leader dashboard` started as a program, its page in a
// real Chromium (Debian's package, driven by playwright-core), real workers and a real server.

describeWithBrowser('zk-leader dashboard in Chromium', () => {
  const { browser, cleanups, paths } = browserTestResources();

  async function dashboard(args: string[]): Promise<{ page: Page; dialogs: string[]; stderr: string[] }> {
    const { url, child, stderr } = await startDashboardProgram(args);
    cleanups.push(() => child.kill('SIGKILL'));
    const page = await browser().newPage();
    cleanups.push(() => page.close());
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(url);
    return { page, dialogs, stderr };
  }
  const leaderShown = (page: Page, path: string) => page.locator(`.election[data-path="${path}"] .leader-line`);
  /** Waits until the page names `id` as the leader of `path`; resolves with when it did (ms). */
  async function untilLeader(page: Page, path: string, id: string, timeoutMs = 20_000): Promise<number> {
    // Polled through the locator: the page's CSP forbids evaluating strings in it.
    await expect.poll(() => leaderShown(page, path).getAttribute('data-leader', { timeout: timeoutMs }), { timeout: timeoutMs, interval: 10 }).toBe(id);
    return performance.now();
  }

  describe.each(backends)('watching workers on %s', (backend: BackendName) => {
    it('shows the leader, the next one within a second of a SIGTERM with its timeline entry, and the third after a kill -9', async () => {
      const root = uniquePath('dashboard');
      const path = `${root}/scheduler`;
      paths.push(root);
      const workers: ExampleProcess[] = [];
      cleanups.push(() => workers.forEach((worker) => worker.signal('SIGKILL')));
      const worker = (id: string) => {
        const started = startWorker({ connect: zkConnect(), path, id, sessionTimeoutMs: 2000, backend });
        workers.push(started);
        return started;
      };
      const w1 = worker('w1');
      await w1.waitForEvent('elected');
      const w2 = worker('w2');
      await w2.waitForEvent('follower');
      const w3 = worker('w3');
      await w3.waitForEvent('follower');

      const { page } = await dashboard(['--root', root, '--connect', zkConnect(), '--backend', backend]);
      await untilLeader(page, path, 'w1');
      await expect.poll(() => page.locator(`.election[data-path="${path}"] tbody tr`).count()).toBe(3);

      const stoppedAt = performance.now();
      w1.signal('SIGTERM');
      const shownAt = await untilLeader(page, path, 'w2', 5000);
      expect(shownAt - stoppedAt, 'from SIGTERM to the page showing the new leader').toBeLessThan(1000);
      await expect.poll(() => page.locator('#changes li[data-kind="leader"]').first().textContent()).toContain('w1 → w2');

      // A crashed leader keeps its node until the server expires its session: the page shows
      // it leading until then, and the handover when the node goes.
      w2.signal('SIGKILL');
      // A negative check: the page does not drop the crashed leader before its node goes.
      await sleep(500);
      expect(await leaderShown(page, path).getAttribute('data-leader')).toBe('w2');
      await untilLeader(page, path, 'w3', 10_000);
      await expect.poll(() => page.locator('#changes li[data-kind="leader"]').first().textContent()).toContain('w2 → w3');
    });
  });

  it('renders znode data that holds HTML as text: no element, no script, no dialog', async () => {
    const root = uniquePath('dashboard-xss');
    const path = `${root}/job`;
    paths.push(root);
    const hostile = '<img src=x onerror=alert(1)>';
    const participant = new LeaderElection({ path, connect: zkConnect(), id: '<b>bold<svg onload=alert(2)>', data: { x: hostile } });
    cleanups.push(() => participant.stop());
    await participant.start();
    const { page, dialogs } = await dashboard(['--root', root, '--connect', zkConnect()]);

    const dataCell = page.locator(`.election[data-path="${path}"] td.data`);
    await expect.poll(() => dataCell.textContent()).toBe(JSON.stringify({ x: hostile }));
    // The timeline's own SVG holds only its shapes; the hostile id is text in them.
    await expect.poll(() => page.locator('svg.bars rect.term').count()).toBe(1);
    expect(await page.locator('main img, main b, main script, main svg:not(.bars), svg.bars :not(rect, text, title, line)').count()).toBe(0);
    expect(await page.locator(`.election[data-path="${path}"] .leader-line`).textContent()).toContain('<b>bold<svg onload=alert(2)>');
    // A negative check: no dialog opens (a script would have run by now).
    await sleep(300);
    expect(dialogs).toEqual([]);
    const response = await page.request.get(page.url());
    expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
  });

  describe('through a ZooKeeper restart', () => {
    let zookeeper: ZooKeeperHandle | null = null;
    afterAll(async () => {
      await zookeeper?.close();
    });

    itWithOwnServers('says disconnected while ZooKeeper is down, then recovers by itself', async () => {
      zookeeper = await startOwnZooKeeper({});
      const root = '/dashboard-restart';
      const path = `${root}/job`;
      const participant = new LeaderElection({ path, connect: zookeeper.connectString, id: 'steady', sessionTimeoutMs: 20_000 });
      cleanups.push(() => participant.stop());
      await participant.start();
      const { page } = await dashboard(['--root', root, '--connect', zookeeper.connectString]);
      await untilLeader(page, path, 'steady');
      await expect.poll(() => page.locator('#connection').getAttribute('data-state')).toBe('connected');

      await zookeeper.servers[0]!.stop();
      await expect.poll(() => page.locator('#connection').getAttribute('data-state'), { timeout: 15_000 }).toBe('disconnected');
      expect(await page.locator('#banner').textContent()).toContain('disconnected since');

      await zookeeper.servers[0]!.restart();
      await expect.poll(() => page.locator('#connection').getAttribute('data-state'), { timeout: 30_000 }).toBe('connected');
      expect(await page.locator('#banner').isHidden()).toBe(true);
      await untilLeader(page, path, 'steady');
    });
  });
});

describe('zk-leader dashboard refuses what it must not do', () => {
  it('will not serve a non-loopback address without --basic-auth-file, in one line', async () => {
    const child = spawn(process.execPath, [cli, 'dashboard', '--root', '/x', '--host', '0.0.0.0', '--connect', zkConnect()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toMatch(/^zk-leader: refusing to serve on 0\.0\.0\.0 without a password.*--basic-auth-file/);
  });

  it('asks for the password of --basic-auth-file and serves nothing without it; it is read-only', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = `${mkdtempSync(`${tmpdir()}/zk-leader-dash-`)}/auth`;
    writeFileSync(file, 'ops:s3cret\n');
    const { url, child } = await startDashboardProgram(['--root', '/', '--connect', zkConnect(), '--basic-auth-file', file]);
    try {
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(`${url}state.json`, { headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` } })).status).toBe(401);
      const good = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };
      const page = await fetch(url, { headers: good });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect((await fetch(`${url}state.json`, { method: 'POST', headers: good })).status).toBe(405);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
