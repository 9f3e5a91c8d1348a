import { isIP } from 'node:net';

/** Why the dashboard will not serve on `host` (a non-loopback address without a password), or null. */
export function refusalToServe(host: string, withPassword: boolean): string | null {
  if (withPassword || isLoopback(host)) return null;
  return `refusing to serve on ${host} without a password: anyone who can reach it would see the cluster; pass --basic-auth-file (or bind to 127.0.0.1)`;
}

/** Whether `host` is a loopback address or name: only this machine can reach it. */
function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}
