import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ExampleProcess, startWorker } from '../examples/support/processes.js';
import { curatorClasspath, curatorVersion, kazooPython, peersDir } from '../test/peers/index.js';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));

export interface PeerResult {
  name: string;
  version: string;
  latencies: number[] | null;
  /** Why it did not run, and how to make it run. */
  missing?: string;
}

export async function kazooFailover(connect: string, rounds: number): Promise<PeerResult> {
  const found = kazooPython();
  if (!found)
    return { name: 'kazoo Election', version: '', latencies: null, missing: 'install python3-kazoo (apt-get install python3-kazoo) to compare with kazoo' };
  const { stdout } = await run(found.python, [`${here}peers/kazoo_failover.py`, connect, `/zk-leader-bench/kazoo-${process.pid}`, String(rounds)], {
    timeout: 300_000,
  });
  return { name: 'kazoo Election', version: found.version, latencies: JSON.parse(stdout.trim().split('\n').pop()!) as number[] };
}

export async function curatorFailover(connect: string, rounds: number): Promise<PeerResult> {
  const version = curatorVersion();
  if (version === null) {
    return {
      name: 'Curator LeaderLatch',
      version: '',
      latencies: null,
      missing: 'install libcurator-recipes-java (apt-get install libcurator-recipes-java) to compare with Curator',
    };
  }
  const { stdout } = await run(
    'java',
    ['-cp', curatorClasspath, `${here}peers/CuratorFailover.java`, connect, `/zk-leader-bench/curator-${process.pid}`, String(rounds)],
    { timeout: 300_000 },
  );
  return { name: 'Curator LeaderLatch', version, latencies: JSON.parse(stdout.trim().split('\n').pop()!) as number[] };
}

/**
 * Handover by SIGTERM between a zk-leader worker.ts (recipe curator-latch) and a real Curator
 * LeaderLatch process (test/peers/CuratorPeer.java) on one path, in turn: wall-clock time from
 * the signal to the other process's `elected` line, per direction. Null when Curator is missing.
 */
export async function mixedCuratorHandover(
  connect: string,
  rounds: number,
): Promise<{ toCurator: number[]; toZkLeader: number[]; version: string } | { missing: string }> {
  const version = curatorVersion();
  if (version === null) return { missing: 'install libcurator-recipes-java to measure a mixed fleet' };
  const path = `/zk-leader-bench/mixed-curator-${process.pid}`;
  const peerSource = `${peersDir}CuratorPeer.java`;
  let serial = 0;
  const startNode = async () => {
    const worker = startWorker({ connect, path, id: `node-${serial++}`, recipe: 'curator-latch' });
    await worker.waitForLine((line) => /"event":"(elected|follower)"/.test(line));
    return worker;
  };
  const startJava = async () => {
    const java = new ExampleProcess(
      spawn('java', ['-cp', curatorClasspath, peerSource, connect, path, `java-${serial++}`, '10000'], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    await java.waitForEvent('started');
    // Curator creates its node after 'started': wait until it is in the queue (a follower prints nothing).
    await new Promise((resolve) => setTimeout(resolve, 500));
    return java;
  };
  const toCurator: number[] = [];
  const toZkLeader: number[] = [];
  let node = await startNode();
  let java = await startJava();
  for (let round = 0; round < rounds; round++) {
    // zk-leader leads: hand over to Curator.
    let signalledAt = Date.now();
    node.signal('SIGTERM');
    toCurator.push(((await java.waitForEvent('elected')).ts as number) - signalledAt);
    await node.exited;
    node = await startNode();
    // Curator leads: hand back to zk-leader.
    signalledAt = Date.now();
    java.signal('SIGTERM');
    toZkLeader.push(((await node.waitForEvent('elected')).ts as number) - signalledAt);
    await java.exited;
    java = await startJava();
  }
  node.signal('SIGKILL');
  java.signal('SIGKILL');
  return { toCurator, toZkLeader, version };
}
