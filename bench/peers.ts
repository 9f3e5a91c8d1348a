import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const here = fileURLToPath(new URL('.', import.meta.url));

export interface PeerResult {
  name: string;
  version: string;
  latencies: number[] | null;
  /** Why it did not run, and how to make it run. */
  missing?: string;
}

async function kazooPython(): Promise<{ python: string; version: string } | null> {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      const { stdout } = await run(python, ['-c', 'import kazoo.version; print(kazoo.version.__version__)']);
      return { python, version: stdout.trim() };
    } catch {
      // try the next interpreter
    }
  }
  return null;
}

export async function kazooFailover(connect: string, rounds: number): Promise<PeerResult> {
  const found = await kazooPython();
  if (!found)
    return { name: 'kazoo Election', version: '', latencies: null, missing: 'install python3-kazoo (apt-get install python3-kazoo) to compare with kazoo' };
  const { stdout } = await run(found.python, [`${here}peers/kazoo_failover.py`, connect, `/zk-leader-bench/kazoo-${process.pid}`, String(rounds)], {
    timeout: 300_000,
  });
  return { name: 'kazoo Election', version: found.version, latencies: JSON.parse(stdout.trim().split('\n').pop()!) as number[] };
}

const curatorJars = ['curator-recipes', 'curator-framework', 'curator-client'].map((name) => `/usr/share/java/${name}.jar`);

export async function curatorFailover(connect: string, rounds: number): Promise<PeerResult> {
  if (!curatorJars.every((jar) => existsSync(jar))) {
    return {
      name: 'Curator LeaderLatch',
      version: '',
      latencies: null,
      missing: 'install libcurator-recipes-java (apt-get install libcurator-recipes-java) to compare with Curator',
    };
  }
  const classpath = [...curatorJars, '/usr/share/java/slf4j-nop.jar'].filter((jar) => existsSync(jar)).join(':');
  const { stdout } = await run(
    'java',
    ['-cp', classpath, `${here}peers/CuratorFailover.java`, connect, `/zk-leader-bench/curator-${process.pid}`, String(rounds)],
    { timeout: 300_000 },
  );
  const version = /curator-recipes-([\d.]+)\.jar/.exec((await run('ls', ['/usr/share/java'])).stdout)?.[1] ?? '';
  return { name: 'Curator LeaderLatch', version, latencies: JSON.parse(stdout.trim().split('\n').pop()!) as number[] };
}
