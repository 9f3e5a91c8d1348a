import type { CandidateName, LeaderInfo } from '../candidate.js';
import { ZkLeaderError } from '../errors.js';
import { joinPath } from '../paths.js';
import type { RecipeName } from '../recipes.js';

/** What a follower's reports need of its election. @internal */
export interface ReportsHost {
  /** The election's znode. */
  readonly path: string;
  /** This participant's recipe. */
  readonly recipe: RecipeName;
  /** Emits `follower`. */
  follower(event: { leader: LeaderInfo; position: number }): void;
  /** Emits `error`. */
  error(error: ZkLeaderError): void;
}

/**
 * What a follower tells: `follower` when its leader or place changed (a repeated look that
 * changes nothing stays quiet), and, once per node, a node that keeps it from leading (a
 * sequential node zk-leader did not make, a candidate of another recipe).
 * @internal
 */
export class FollowerReports {
  /** The leader node and position last reported by `follower`. */
  private lastFollowerKey: string | null = null;
  /** Foreign sequential children already reported; made at the first (most elections never see one). */
  private reportedForeign: Set<string> | null = null;

  /** @param host the election. */
  constructor(private readonly host: ReportsHost) {}

  /** Emits `follower` unless `key` (what identifies the leader and place) is the one last reported. */
  follow(key: string, leader: LeaderInfo, position: number): void {
    if (key === this.lastFollowerKey) return;
    this.lastFollowerKey = key;
    this.host.follower({ leader, position });
  }

  /** The next `follower` is reported whatever it says (this participant leads, or its candidacy ended). */
  forget(): void {
    this.lastFollowerKey = null;
  }

  /** Sequential children we did not create sort ahead of us: never lead past them, and say so once. */
  foreign(names: string[]): void {
    for (const name of names) {
      this.once(
        name,
        'FOREIGN_CANDIDATE',
        `${joinPath(this.host.path, name)} is a sequential node zk-leader did not create, and it sorts ahead of this participant: it will not lead while that node exists (remove it, or point the election at a path of its own)`,
      );
    }
  }

  /** Candidates of another recipe, which do not order ours with theirs: this participant does not lead while they are there. */
  mismatched(candidates: CandidateName[]): void {
    for (const { name, recipe } of candidates) {
      this.once(
        name,
        'RECIPE_MISMATCH',
        `${joinPath(this.host.path, name)} is a ${recipe} candidate, and this participant uses recipe '${this.host.recipe}', which ${recipe} participants do not order with theirs: it will not lead while that node exists (use recipe: '${recipe}' on every zk-leader participant of this path)`,
      );
    }
  }

  /** A node that keeps this participant from leading is reported once, however often it is seen. */
  private once(name: string, code: 'FOREIGN_CANDIDATE' | 'RECIPE_MISMATCH', message: string): void {
    this.reportedForeign ??= new Set();
    if (this.reportedForeign.has(name)) return;
    this.reportedForeign.add(name);
    this.host.error(new ZkLeaderError(code, message));
  }
}
