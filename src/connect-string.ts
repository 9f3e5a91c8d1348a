import { InvalidArgumentError } from './errors.js';
import { validatePath } from './paths.js';

/** One server of a connect string. */
export interface ConnectServer {
  /** A host name or IPv4 address. */
  host: string;
  /** 1 to 65535. */
  port: number;
}

/** A connect string taken apart, and written back in one canonical form. */
export interface ParsedConnectString {
  servers: ConnectServer[];
  /** The chroot, e.g. '/app', or undefined. */
  chroot: string | undefined;
  /** `host:port,host:port[/chroot]`, every server with its port, no blanks. */
  normalized: string;
}

/** ZooKeeper's client port, which both backends assume when a server names none. */
const defaultPort = 2181;

/**
 * Checks a ZooKeeper connect string, `host:port[,host:port...][/chroot]`, before a client
 * library sees it: node-zookeeper-client hands a bad port to `net.connect`, which throws
 * from a timer and ends the process, and the C client never connects to a server without
 * a port. Blanks around servers are dropped and a missing port becomes 2181, so both
 * backends read the same servers.
 * @throws INVALID_ARGUMENT in one line that names the part at fault.
 */
export function parseConnectString(connect: unknown): ParsedConnectString {
  if (typeof connect !== 'string' || connect.trim() === '') {
    throw new InvalidArgumentError(`connect must be a ZooKeeper connect string such as '127.0.0.1:2181': got ${JSON.stringify(connect)}`);
  }
  const slash = connect.indexOf('/');
  const hostList = slash === -1 ? connect : connect.slice(0, slash);
  // 'host:2181/' means no chroot to both client libraries.
  const chrootPart = slash === -1 || slash === connect.length - 1 ? undefined : connect.slice(slash).trim();
  const chroot = chrootPart === undefined ? undefined : validatePath(chrootPart, `the chroot in connect '${connect}'`);
  if (hostList.trim() === '') throw new InvalidArgumentError(`connect names no server before its chroot: expected 'host:port/chroot', got '${connect}'`);
  const servers = hostList.split(',').map((entry) => parseServer(entry.trim(), connect));
  const normalized = servers.map(({ host, port }) => `${host}:${port}`).join(',') + (chroot ?? '');
  return { servers, chroot, normalized };
}

function parseServer(entry: string, connect: string): ConnectServer {
  if (entry === '') throw new InvalidArgumentError(`connect has an empty server (a stray ','): expected 'host:port,host:port' in '${connect}'`);
  const parts = entry.split(':');
  if (parts.length > 2) {
    throw new InvalidArgumentError(
      `connect has a malformed server '${entry}': expected 'host:port' (IPv6 addresses are not supported: use a host name) in '${connect}'`,
    );
  }
  const [host = '', portText] = parts;
  if (host === '') throw new InvalidArgumentError(`connect has no host before ':${portText}' in '${connect}': expected 'host:port'`);
  if (!/^[A-Za-z0-9._-]+$/.test(host)) {
    throw new InvalidArgumentError(
      `connect has a malformed host '${host}' in '${connect}': a host is a name or IPv4 address of letters, digits, '.', '-', '_'`,
    );
  }
  if (portText === undefined) return { host, port: defaultPort };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new InvalidArgumentError(`connect has a bad port '${portText}' in '${connect}': a port is a whole number from 1 to 65535`);
  }
  return { host, port };
}
