import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** A Java classpath that can run ZooKeeper's server classes, and where it was found. */
export interface ZooKeeperInstallation {
  classpath: string;
  source: string;
}

function jarsIn(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((name) => name.endsWith('.jar'))
    .map((name) => join(directory, name));
}

/** A distribution unpacked from Apache's tarball: `bin/`, `lib/*.jar` and sometimes a top jar. */
function fromDistribution(home: string, source: string): ZooKeeperInstallation | null {
  const jars = [...jarsIn(home), ...jarsIn(join(home, 'lib'))];
  if (!jars.some((jar) => /zookeeper-\d[^/]*\.jar$/.test(jar) || jar.endsWith('zookeeper.jar'))) {
    return null;
  }
  return { classpath: jars.join(':'), source };
}

/**
 * Finds ZooKeeper's jars on this machine: `ZOOKEEPER_HOME`, then Debian/Ubuntu's `zookeeper`
 * package (its jar names its dependencies in its manifest), then Homebrew's formula.
 */
export function findZooKeeperInstallation(env = process.env): ZooKeeperInstallation | null {
  if (env.ZOOKEEPER_HOME) {
    const found = fromDistribution(env.ZOOKEEPER_HOME, `ZOOKEEPER_HOME=${env.ZOOKEEPER_HOME}`);
    if (found) return found;
  }
  const debianJar = '/usr/share/java/zookeeper.jar';
  if (existsSync(debianJar)) {
    // slf4j-simple sends the server's log to stderr, which the provider writes to a file.
    // netty-codec (libnetty-java, which libzookeeper-java depends on) is missing from the
    // jar's manifest, yet the Netty connection factory that serves TLS needs it (without it,
    // every connection fails with ClassNotFoundException: io.netty.handler.codec.ByteToMessageDecoder).
    const extras = ['/usr/share/java/slf4j-simple.jar', '/usr/share/java/netty-codec.jar'].filter((jar) => existsSync(jar));
    return { classpath: [debianJar, ...extras].join(':'), source: "Debian's zookeeper package (/usr/share/java)" };
  }
  for (const prefix of ['/opt/homebrew', '/usr/local']) {
    const found = fromDistribution(join(prefix, 'opt/zookeeper/libexec'), 'Homebrew zookeeper');
    if (found) return found;
  }
  return null;
}
