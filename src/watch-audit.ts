import type { Clock, TimerHandle } from './clock.js';
import type { NodeStat } from './client/types.js';
import { isConnectionError } from './errors.js';

/**
 * What a participant relies on hearing through a watch, in a form an `exists` can check:
 * - `children`: any join or leave on `path` (its pzxid moves with each);
 * - `node`: the node at `path` as its watch found it (gone, or written since, when its mzxid moved).
 */
export type AuditItem = { kind: 'children'; path: string } | { kind: 'node'; path: string; mzxid: bigint };

/** Who the audit reads through, and whether it still may: a candidacy, in practice. */
export interface AuditReader {
  /**
   * True once the owner is over: the audit then stays quiet until `expect()` is called again.
   * (Not "holds no node": a single-node follower has none and relies on its watches most.)
   */
  readonly gone: boolean;
  exists(path: string): Promise<NodeStat | null>;
}

/**
 * Checks at a bounded period what a participant's watches should have told it.
 *
 * ZooKeeper uses up a watch without a notice when the watcher may not READ the node (an
 * operator's ACL): the write or the deletion it was waiting for happens, and nothing arrives.
 * A participant that waits for a notice would then wait for ever, a leader would miss a peer
 * that joined, a follower its predecessor's departure. `exists` needs no permission at all, so
 * a look at the stat every period finds out what the notice would have said; any difference
 * calls the owner's `auditChanged()`, and the evaluation that follows lists and watches again.
 *
 * Cost: one `exists` per item per period and participant, and one listing after each change
 * (or the first look at a path, whose last listing's pzxid is not known).
 */
export class WatchAudit {
  private timer: TimerHandle | null = null;
  private reader: AuditReader | null = null;
  private items: readonly AuditItem[] = [];
  private periodMs = 0;
  /** Bumped by every `expect()` and `stop()`: a look in flight for an older set is dropped. */
  private generation = 0;
  /**
   * Each children path's pzxid at the last look: a listing after that look saw at least that.
   * Made at the first look (an empty Map costs ~180 B, and an audit waits a period for it).
   */
  private childrenSeen: Map<string, bigint> | null = null;

  /**
   * @param owner `clock()` is the owner's clock, real or simulated (read at each use: the owner
   * may make it late); `auditChanged()` is called when a look found what a watch should have told.
   */
  constructor(private readonly owner: { clock(): Clock; auditChanged(): void }) {}

  /** From now on checks `items` through `reader` every `periodMs` (replacing what was checked). */
  expect(reader: AuditReader, items: readonly AuditItem[], periodMs: number): void {
    this.generation += 1;
    // What a look saw is kept for the same reader and path only.
    const seen = this.childrenSeen;
    if (seen) {
      const keep = new Set(items.filter((item) => item.kind === 'children').map((item) => item.path));
      for (const path of seen.keys()) if (this.reader !== reader || !keep.has(path)) seen.delete(path);
    }
    this.reader = reader;
    this.items = items;
    // A shorter period starts now; a longer one (or the same) lets the pending look come.
    if (this.timer && periodMs < this.periodMs) this.clearTimer();
    this.periodMs = periodMs;
    this.schedule();
  }

  /** Checks nothing any more; a look in flight is dropped. */
  stop(): void {
    this.generation += 1;
    this.reader = null;
    this.items = [];
    this.childrenSeen = null;
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer) this.owner.clock().clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer || !this.reader || this.items.length === 0) return;
    this.timer = this.owner.clock().setTimeout(() => {
      this.timer = null;
      void this.look();
    }, this.periodMs);
  }

  private async look(): Promise<void> {
    const reader = this.reader;
    const generation = this.generation;
    if (!reader || reader.gone) return;
    let changed = false;
    try {
      const stats = await Promise.all(this.items.map((item) => reader.exists(item.path)));
      if (generation !== this.generation) return;
      this.items.forEach((item, index) => {
        const stat = stats[index] ?? null;
        if (item.kind === 'node') {
          if (!stat || stat.mzxid !== item.mzxid) changed = true;
          return;
        }
        const childrenSeen = (this.childrenSeen ??= new Map<string, bigint>());
        const seen = childrenSeen.get(item.path);
        if (stat) childrenSeen.set(item.path, stat.pzxid);
        else childrenSeen.delete(item.path);
        if (!stat || seen !== stat.pzxid) changed = true;
      });
    } catch (error) {
      if (generation !== this.generation) return;
      // Lost to the connection: nothing learned, so the next period looks again. Anything else
      // is the evaluation's to report (it makes the same requests and knows what a failure means).
      if (!isConnectionError(error)) changed = true;
    }
    this.schedule();
    if (changed) this.owner.auditChanged();
  }
}
