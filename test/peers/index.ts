import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Where the real peers come from: Debian's packages (python3-kazoo, libcurator-recipes-java).
// The mixed-fleet tests and the benchmarks both run them.

/** This folder, with the peer programs. */
export const peersDir = fileURLToPath(new URL('.', import.meta.url));

/**
 * An interpreter that imports kazoo, and kazoo's version: Debian's own first, since
 * python3-kazoo installs for it (another python3 may come first on PATH). Null without one.
 */
export function kazooPython(): { python: string; version: string } | null {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const found = spawnSync(python, ['-c', 'import kazoo.version; print(kazoo.version.__version__)'], { encoding: 'utf8' });
    if (found.status === 0) return { python, version: found.stdout.trim() };
  }
  return null;
}

/** Curator's jars as Debian installs them, with what they need at run time. */
export const curatorClasspath = ['curator-recipes', 'curator-framework', 'curator-client', 'zookeeper', 'zookeeper-jute', 'guava', 'slf4j-api', 'slf4j-nop']
  .map((jar) => `/usr/share/java/${jar}.jar`)
  .join(':');

/** Whether Curator is installed, and its version (from the jar's name), or null. */
export function curatorVersion(): string | null {
  if (!existsSync('/usr/share/java/curator-recipes.jar')) return null;
  const listed = spawnSync('ls', ['/usr/share/java'], { encoding: 'utf8' }).stdout;
  return /curator-recipes-([\d.]+)\.jar/.exec(listed)?.[1] ?? '';
}
