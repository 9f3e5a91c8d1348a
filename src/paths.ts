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
    // ZooKeeper refuses control characters in paths: say so before the server does.
    // eslint-disable-next-line no-control-regex
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

/** The parent of an absolute path: `/a` for `/a/b`, `/` for `/a`. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}
