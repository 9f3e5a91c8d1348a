import { isIP } from 'node:net';

/** Whether `host` is a loopback address or name: only this machine can reach it. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}
