import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { findZooKeeperInstallation, type ZooKeeperInstallation } from './jars.js';

const run = promisify(execFile);

/**
 * On a fresh Debian/Ubuntu machine, as root, installs what the local-process provider runs:
 * Debian's ZooKeeper jars and a headless JRE (not the `zookeeper` package, whose desktop JRE is
 * ten times the size). Null where that is not possible (not root, no apt-get): the caller then
 * throws its clear error, as before. Says what it does in one line, because it changes the machine.
 */
export async function installDebianZooKeeper(env: NodeJS.ProcessEnv = process.env): Promise<ZooKeeperInstallation | null> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) return null;
  const packages = ['libzookeeper-java', 'default-jre-headless'];
  console.warn(
    `[zk-leader testing] no ZooKeeper on this machine: installing Debian's ${packages.join(' and ')} with apt-get (ZK_CONNECT or a Docker engine avoid this)`,
  );
  const options = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 };
  // A fresh machine's package lists may be missing or stale (the install then fails with 404s).
  await run('apt-get', ['update', '-qq'], options);
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], options);
  return findZooKeeperInstallation(env);
}
