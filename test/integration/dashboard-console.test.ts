import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ExampleProcess, startWorker } from '../../examples/support/processes.js';
import type { ClusterSnapshot, TermView } from '../../src/dashboard/snapshot.js';
import { LeaderElection } from '../../src/election.js';
import type { ZooKeeperHandle } from '../../src/testing/index.js';
import { describeWithBrowser, startDashboardProgram, browserTestResources } from '../support/dashboard.js';
import { until } from '../support/events.js';
import { itWithOwnServers, startOwnZooKeeper, uniquePath, zkConnect } from '../support/zookeeper.js';

// The dashboard as an operator's console: the history the dashboard process keeps (a page
// reload loses nothing), the timeline drawn from it, and the ensemble panel.

describeWithBrowser('the dashboard as a console, in Chromium', () => {
  const { browser, cleanups, paths } = browserTestResources();

  /** A dashboard program and its URL; pages are opened by the test. */
  async function dashboard(args: string[]): Promise<string> {
    const { url, child } = await startDashboardProgram(args);
    cleanups.push(() => child.kill('SIGKILL'));
    return url;
  }
  async function open(url: string): Promise<Page> {
    const page = await browser().newPage();
    cleanups.push(() => page.close());
    await page.goto(url);
    return page;
  }
  async function state(url: string): Promise<ClusterSnapshot> {
    return (await (await fetch(`${url}state.json`)).json()) as ClusterSnapshot;
  }
  async function terms(url: string, path: string): Promise<TermView[]> {
    return (await state(url)).history.find((election) => election.path === path)?.terms ?? [];
  }
  /** Until the servers' `cons` has shown `id`'s session answering: a release can be told from an expiry from then on. */
  async function untilConnected(url: string, path: string, id: string): Promise<void> {
    let seen: string | undefined;
    const connected = async () => {
      const election = (await state(url)).elections.find((candidate) => candidate.path === path);
      seen = election?.participants.find((participant) => participant.id === id)?.connection.state;
      return seen === 'connected';
    };
    await until(connected, () => `${id}'s session to be seen answering (last seen: ${seen})`, 10_000);
  }
  const history = (page: Page, path: string) => page.locator(`.history[data-path="${path}"]`);

  it('keeps the terms of a graceful handover and a crash, with how each ended, and draws them again after a reload', async () => {
    const root = uniquePath('console');
    const path = `${root}/scheduler`;
    paths.push(root);
    const workers: ExampleProcess[] = [];
    cleanups.push(() => workers.forEach((worker) => worker.signal('SIGKILL')));
    const worker = (id: string) => {
      const started = startWorker({ connect: zkConnect(), path, id, sessionTimeoutMs: 2000 });
      workers.push(started);
      return started;
    };
    const w1 = worker('w1');
    await w1.waitForEvent('elected');
    const w2 = worker('w2');
    await w2.waitForEvent('follower');
    const w3 = worker('w3');
    await w3.waitForEvent('follower');
    const url = await dashboard(['--root', root, '--connect', zkConnect()]);
    const page = await open(url);
    await expect.poll(() => history(page, path).locator('rect.term').count(), { timeout: 10_000 }).toBe(1);
    await untilConnected(url, path, 'w1');

    w1.signal('SIGTERM');
    await w2.waitForEvent('elected');
    w2.signal('SIGKILL');
    await w3.waitForEvent('elected', () => true, 20_000);
    await until(
      async () => (await terms(url, path)).filter((term) => term.cause !== null && term.cause !== 'pending').length === 2,
      'both terms to be settled',
      15_000,
    );

    const kept = await terms(url, path);
    expect(kept.map((term) => [term.leader, term.cause])).toEqual([
      ['w1', 'released'],
      ['w2', 'expired'],
      ['w3', null],
    ]);
    expect(kept[0]!.startSource).toBe('leader-record');
    expect(kept[1]!.unreachableSince).toBeLessThan(kept[1]!.endedAt!);

    await page.reload();
    const bars = history(page, path).locator('rect.term');
    await expect.poll(() => bars.count()).toBe(3);
    expect(await Promise.all([0, 1, 2].map((index) => bars.nth(index).getAttribute('data-leader')))).toEqual(['w1', 'w2', 'w3']);
    const handovers = history(page, path).locator('ol.handovers li');
    expect(await handovers.count()).toBe(2);
    expect(await handovers.nth(0).getAttribute('data-cause')).toBe('released');
    expect(await handovers.nth(0).textContent()).toContain('w1 → w2');
    expect(await handovers.nth(1).getAttribute('data-cause')).toBe('expired');
    expect(await handovers.nth(1).textContent()).toMatch(/w2 → w3.*session expired/);
  });

  it('draws a leaderless gap in red, with its length', async () => {
    const root = uniquePath('console-gap');
    const path = `${root}/job`;
    paths.push(root);
    const first = new LeaderElection({ path, connect: zkConnect(), id: 'first' });
    cleanups.push(() => first.stop());
    await first.start();
    const url = await dashboard(['--root', root, '--connect', zkConnect()]);
    const page = await open(url);
    await expect.poll(() => history(page, path).locator('rect.term').count(), { timeout: 10_000 }).toBe(1);
    await untilConnected(url, path, 'first');

    await first.stop();
    // While nobody leads, the gap runs up to now.
    const gap = history(page, path).locator('rect.gap');
    await expect.poll(() => gap.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => history(page, path).locator('.leaderless-now').textContent()).toMatch(/no leader for \d+s/);

    const second = new LeaderElection({ path, connect: zkConnect(), id: 'second' });
    cleanups.push(() => second.stop());
    await second.start();
    await expect.poll(() => history(page, path).locator('rect.term').count()).toBe(2);
    expect(await gap.count()).toBe(1);
    expect(await gap.getAttribute('data-gap-ms')).toMatch(/^\d+$/);
    const handover = history(page, path).locator('ol.handovers li');
    await expect.poll(() => handover.textContent()).toMatch(/first → second: released.* (\d+ ms|[\d.]+ s) without a leader/);
  });

  it("shows each server's mode, version and latency in the ensemble panel", async () => {
    const url = await dashboard(['--root', uniquePath('console-ensemble'), '--connect', zkConnect()]);
    const page = await open(url);
    const server = zkConnect().split(',')[0]!.split('/')[0]!;
    const row = page.locator(`#ensemble tr[data-server="${server}"]`);
    await expect.poll(() => row.getAttribute('data-mode'), { timeout: 10_000 }).toMatch(/^(standalone|leader|follower|observer)$/);
    expect(await row.locator('td.version').textContent()).toMatch(/^3\.\d+/);
    expect(await row.locator('td.latency').textContent()).toMatch(/^[\d.]+ \/ [\d.]+ \/ [\d.]+ ms$/);
  });

  describe('with a server stopped', () => {
    let zookeeper: ZooKeeperHandle | null = null;
    afterAll(async () => {
      await zookeeper?.close();
    });

    itWithOwnServers('says in the ensemble panel that a stopped server does not answer', async () => {
      zookeeper = await startOwnZooKeeper({});
      const url = await dashboard(['--root', '/console-down', '--connect', zookeeper.connectString]);
      const page = await open(url);
      const row = page.locator(`#ensemble tr[data-server="${zookeeper.connectString}"]`);
      await expect.poll(() => row.getAttribute('data-mode'), { timeout: 10_000 }).toBe('standalone');
      await zookeeper.servers[0]!.stop();
      await expect.poll(() => row.getAttribute('data-mode'), { timeout: 15_000 }).toBe('down');
      expect(await row.textContent()).toContain('no answer');
    });
  });
});
