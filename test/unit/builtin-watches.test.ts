import { describe, expect, it } from 'vitest';
import { needsSetWatches2, WatchManager } from '../../src/client/builtin/watches.js';
import type { WatchEvent } from '../../src/client/types.js';

// The builtin client's watch table: who an event calls, what a reconnect re-arms.

function recorder(): { heard: WatchEvent[]; watcher: (event: WatchEvent) => void } {
  const heard: WatchEvent[] = [];
  return { heard, watcher: (event) => heard.push(event) };
}

describe('builtin watch table', () => {
  it('a persistent watcher hears every event of its path, again and again, and none of other paths', () => {
    const watches = new WatchManager();
    const { heard, watcher } = recorder();
    watches.add('persistent', '/a', watcher);
    watches.dispatch({ type: 'data-changed', path: '/a' });
    watches.dispatch({ type: 'children-changed', path: '/a' });
    watches.dispatch({ type: 'deleted', path: '/a' });
    watches.dispatch({ type: 'created', path: '/a/b' });
    expect(heard.map((event) => event.type)).toEqual(['data-changed', 'children-changed', 'deleted']);
    expect(watches.watcherCount).toBe(1);
  });

  it('a recursive watcher hears its path and every descendant, but no children-changed', () => {
    const watches = new WatchManager();
    const { heard, watcher } = recorder();
    watches.add('recursive', '/a', watcher);
    watches.dispatch({ type: 'created', path: '/a/b/c' });
    watches.dispatch({ type: 'data-changed', path: '/a' });
    watches.dispatch({ type: 'children-changed', path: '/a' });
    watches.dispatch({ type: 'created', path: '/ab' });
    expect(heard).toEqual([
      { type: 'created', path: '/a/b/c' },
      { type: 'data-changed', path: '/a' },
    ]);
  });

  it('a recursive watch on / hears everything', () => {
    const watches = new WatchManager();
    const { heard, watcher } = recorder();
    watches.add('recursive', '/', watcher);
    watches.dispatch({ type: 'deleted', path: '/x/y' });
    expect(heard).toHaveLength(1);
  });

  it('one event calls a watcher once, whichever tables it sits in', () => {
    const watches = new WatchManager();
    const { heard, watcher } = recorder();
    watches.add('data', '/a', watcher);
    watches.add('persistent', '/a', watcher);
    watches.add('recursive', '/', watcher);
    watches.dispatch({ type: 'data-changed', path: '/a' });
    expect(heard).toHaveLength(1);
    // The one-shot entry is used up; the persistent ones stay.
    expect(watches.watcherCount).toBe(2);
  });

  it('batches hold the persistent paths last, and only those batches need SetWatches2', () => {
    const watches = new WatchManager();
    watches.add('data', '/d', () => {});
    watches.add('persistent', '/p', () => {});
    watches.add('recursive', '/r', () => {});
    const [only] = watches.batches((path) => `/chroot${path}`);
    expect(only).toEqual({
      dataWatches: ['/chroot/d'],
      existWatches: [],
      childWatches: [],
      persistentWatches: ['/chroot/p'],
      persistentRecursiveWatches: ['/chroot/r'],
    });
    expect(needsSetWatches2(only!)).toBe(true);
    // Cut at 2 bytes of path (one path a batch): the one-shot batch stays a plain SetWatches.
    const cut = watches.batches((path) => path, 2);
    expect(cut.map(needsSetWatches2)).toEqual([false, true, true]);
  });

  it('removeWatcher takes one watcher of a path; the others stay', () => {
    const watches = new WatchManager();
    const first = recorder();
    const second = recorder();
    watches.add('persistent', '/a', first.watcher);
    watches.add('persistent', '/a', second.watcher);
    watches.removeWatcher('/a', ['persistent'], first.watcher);
    expect(watches.has('/a', ['persistent'])).toBe(true);
    watches.dispatch({ type: 'data-changed', path: '/a' });
    expect([first.heard.length, second.heard.length]).toEqual([0, 1]);
    watches.removeWatcher('/a', ['persistent'], second.watcher);
    expect(watches.has('/a', ['persistent'])).toBe(false);
  });
});
