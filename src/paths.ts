import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from './errors.js';

/**
 * Checks a ZooKeeper path as the election, membership and observer APIs take it: absolute,
 * no trailing slash, no empty, '.' or '..' segment.
 */
export function validatePath(path: unknown, what = 'path'): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new InvalidArgumentError(`${what} must be a non-empty string such as '/services/scheduler/leader': got ${JSON.stringify(path)}`);
  }
  if (!path.startsWith('/')) {
    throw new InvalidArgumentError(`${what} must start with '/': got '${path}'`);
  }
  if (path === '/') {
    throw new InvalidArgumentError(`${what} must name a node below the root, such as '/services/scheduler/leader': got '/'`);
  }
  if (path.endsWith('/')) {
    throw new InvalidArgumentError(`${what} must not end with '/': got '${path}'`);
  }
  for (const segment of path.slice(1).split('/')) {
    if (segment === '') throw new InvalidArgumentError(`${what} has an empty segment ('//'): got '${path}'`);
    if (segment === '.' || segment === '..') {
      throw new InvalidArgumentError(`${what} must be absolute, without '.' or '..' segments: got '${path}'`);
    }
    if (/[\u0000-\u001f\u007f]/.test(segment)) {
      throw new InvalidArgumentError(`${what} must not contain control characters: got ${JSON.stringify(path)}`);
    }
  }
  return path;
}

/** The paths from the first segment down to `path`, e.g. '/a', '/a/b', '/a/b/c'. */
export function ancestorsAndSelf(path: string): string[] {
  const segments = path.slice(1).split('/');
  return segments.map((_, index) => '/' + segments.slice(0, index + 1).join('/'));
}

export function joinPath(parent: string, child: string): string {
  return parent === '/' ? `/${child}` : `${parent}/${child}`;
}

/**
 * A candidate's znode name: `<prefix><guid>-n_<sequence>`. The GUID lets a participant find
 * its own node again after a create whose reply was lost; the 10-digit sequence that
 * ZooKeeper appends orders the queue.
 */
export interface CandidateName {
  name: string;
  prefix: string;
  guid: string;
  sequence: number;
}

const sequenceMarker = '-n_';
const candidatePattern = /^(.*?)([0-9a-f]{32})-n_(-?\d{10,})$/;

export function newGuid(): string {
  return randomUUID().replaceAll('-', '');
}

/** The name to pass to an ephemeral-sequential create; ZooKeeper appends the sequence. */
export function candidateNameStem(prefix: string, guid: string): string {
  return `${prefix}${guid}${sequenceMarker}`;
}

/** Parses a child name; null for names that are not candidates (other programs' nodes). */
export function parseCandidateName(name: string): CandidateName | null {
  const match = candidatePattern.exec(name);
  if (!match) return null;
  return { name, prefix: match[1]!, guid: match[2]!, sequence: Number(match[3]) };
}

/**
 * The election queue in order: candidates sorted by the sequence ZooKeeper gave them, not by
 * the whole name (GUIDs and prefixes would break plain string order).
 */
export function electionOrder(children: readonly string[]): CandidateName[] {
  return children
    .map(parseCandidateName)
    .filter((candidate): candidate is CandidateName => candidate !== null)
    .sort((a, b) => a.sequence - b.sequence);
}

export function validatePrefix(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^[A-Za-z0-9_.]*$/.test(prefix) || prefix.length > 64) {
    throw new InvalidArgumentError(
      `prefix must be up to 64 letters, digits, '_' or '.': got ${JSON.stringify(prefix)}`,
    );
  }
  return prefix;
}
