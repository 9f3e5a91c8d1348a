/**
 * Checks a chaos run's history, Jepsen-style: the `worker.ts --json` lines of every worker,
 * the log of injected faults and the fenced store's writes go in; leadership terms,
 * overlaps, leaderless gaps, token order and stale writes come out, with every violation named.
 */

export interface WorkerEvent {
  ts: number;
  id: string;
  event: string;
  fencingToken?: string;
  reason?: string;
}

export interface Fault {
  kind: string;
  /** The worker it targeted, if any. */
  target?: string;
  at: number;
  /** When the fault was healed (SIGCONT, proxy healed, servers restarted); `at` if instant. */
  healedAt: number;
}

/** One write the fenced store received. */
export interface StoreWrite {
  ts: number;
  id: string;
  token: bigint;
  accepted: boolean;
}

/** One record a leader committed through `election.transaction()`, in the server's order. */
export interface GuardedCommit {
  /** Its sequence number: the order in which the server committed it. */
  seq: number;
  id: string;
  token: bigint;
}

export interface Term {
  id: string;
  token: bigint;
  start: number;
  /** When it ended; the end of the history if it was still open. */
  end: number;
  open: boolean;
}

export interface HistoryReport {
  faults: number;
  terms: Term[];
  overlaps: { first: Term; second: Term; excused: string | null }[];
  /** Longest stretch without a leader (ms) and when it began. */
  maxLeaderlessMs: number;
  maxLeaderlessAt: number;
  /** Writes the fenced store accepted from a leader whose term a larger token had already superseded. */
  staleWritesAccepted: number;
  /** Writes the fenced store rejected (a lower token than it had seen). */
  writesFenced: number;
  writesAccepted: number;
  /** Records committed through `transaction()`, and how many of them a leader with a lower token than an earlier commit's made. */
  guardedCommits: number;
  guardedCommitsSuperseded: number;
  violations: string[];
}

export interface CheckOptions {
  sessionTimeoutMs: number;
  /** Extra time allowed, beyond a fault's own duration and one session timeout, to elect again. */
  livenessMarginMs: number;
  /** A SIGSTOPped leader must say `lost` within this long after SIGCONT. Default 500 ms. */
  resumeWindowMs?: number;
  /** How far clocks of different processes may disagree. Default 50 ms. */
  clockSkewMs?: number;
  /** When the harness began shutting down: leaderless time up to here is checked too. */
  shutdownAt?: number;
  writes?: StoreWrite[];
  /** What the leaders committed through `transaction()`. */
  commits?: GuardedCommit[];
}

/** Leadership terms from the events: `elected` opens one, `lost` or `stopped` or the process's end closes it. */
export function termsOf(events: WorkerEvent[], endOfHistory: number): { terms: Term[]; violations: string[] } {
  const terms: Term[] = [];
  const violations: string[] = [];
  const open = new Map<string, Term>();
  for (const event of [...events].sort((a, b) => a.ts - b.ts)) {
    const current = open.get(event.id);
    if (event.event === 'elected') {
      if (current) violations.push(`${event.id} was elected at ${event.ts} while its term from ${current.start} was open`);
      const term: Term = { id: event.id, token: BigInt(event.fencingToken ?? '0'), start: event.ts, end: endOfHistory, open: true };
      open.set(event.id, term);
      terms.push(term);
    } else if ((event.event === 'lost' || event.event === 'stopped' || event.event === 'exited') && current) {
      current.end = event.ts;
      current.open = false;
      open.delete(event.id);
    }
  }
  return { terms, violations };
}

/**
 * The one overlap no library can prevent: a leader frozen (SIGSTOP) past its session timeout
 * while another is elected. Excused only if the frozen leader's term began before the pause,
 * the other was elected during it, the frozen one says `lost` as its first event after
 * SIGCONT and within `windowMs`, and it holds the lower token.
 */
function excuse(first: Term, second: Term, faults: Fault[], events: WorkerEvent[], windowMs: number): string | null {
  const pause = faults.find(
    (fault) => fault.kind === 'sigstop' && fault.target === first.id && first.start <= fault.at && fault.at <= second.start && second.start <= fault.healedAt,
  );
  if (!pause) return null;
  const firstAfterResume = events.filter((event) => event.id === first.id && event.ts >= pause.healedAt).sort((a, b) => a.ts - b.ts)[0];
  if (firstAfterResume?.event !== 'lost') return null;
  if (first.open || first.end > pause.healedAt + windowMs) return null;
  if (first.token >= second.token) return null;
  const late = (first.end - pause.healedAt).toFixed(0);
  return `${first.id} was paused (SIGSTOP) from ${pause.at.toFixed(0)} to ${pause.healedAt.toFixed(0)}, said lost ${late} ms after resuming, and holds the lower token`;
}

export function checkHistory(events: WorkerEvent[], faults: Fault[], options: CheckOptions): HistoryReport {
  const resumeWindowMs = options.resumeWindowMs ?? 500;
  const skewMs = options.clockSkewMs ?? 50;
  const writes = options.writes ?? [];
  const endOfHistory = Math.max(...events.map((event) => event.ts), ...faults.map((fault) => fault.healedAt), options.shutdownAt ?? 0);
  const { terms, violations } = termsOf(events, endOfHistory);
  const ordered = [...terms].sort((a, b) => a.start - b.start);

  // Overlaps: two terms of different workers open at the same time.
  const overlaps: HistoryReport['overlaps'] = [];
  for (let index = 0; index < ordered.length; index++) {
    for (let later = index + 1; later < ordered.length; later++) {
      const first = ordered[index]!;
      const second = ordered[later]!;
      if (second.start >= first.end) continue;
      if (first.id === second.id) continue;
      const excused = excuse(first, second, faults, events, resumeWindowMs);
      overlaps.push({ first, second, excused });
      if (!excused) {
        violations.push(
          `overlap: ${first.id} (token ${first.token}, ${first.start}-${first.open ? 'never closed' : first.end}) and ${second.id} (token ${second.token}, from ${second.start})`,
        );
      }
    }
  }

  // Tokens: a new leader always holds a larger token; the same leader keeps or raises its own.
  for (let index = 1; index < ordered.length; index++) {
    const previous = ordered[index - 1]!;
    const term = ordered[index]!;
    const ok = term.id === previous.id ? term.token >= previous.token : term.token > previous.token;
    if (!ok) violations.push(`token order: ${term.id} took token ${term.token} at ${term.start} after ${previous.id} held ${previous.token}`);
  }

  // Clocks of different processes are compared above; cross-check with the zxid order, which
  // needs no clock: a term with a larger token cannot start (much) before one with a smaller.
  const byToken = [...terms].sort((a, b) => (a.token < b.token ? -1 : a.token > b.token ? 1 : a.start - b.start));
  for (let index = 1; index < byToken.length; index++) {
    const previous = byToken[index - 1]!;
    const term = byToken[index]!;
    if (term.token > previous.token && term.start + skewMs < previous.start) {
      violations.push(
        `clock: ${term.id} (token ${term.token}) started ${(previous.start - term.start).toFixed(0)} ms before ${previous.id} (token ${previous.token}), beyond the ${skewMs} ms skew allowed`,
      );
    }
  }

  // Liveness: leaderless stretches, each bounded by the fault that caused it, up to the shutdown.
  let maxLeaderlessMs = 0;
  let maxLeaderlessAt = 0;
  let coveredUntil = ordered[0]?.start ?? endOfHistory;
  const checkGap = (from: number, to: number) => {
    const gap = to - from;
    if (gap <= 0) return;
    if (gap > maxLeaderlessMs) {
      maxLeaderlessMs = gap;
      maxLeaderlessAt = from;
    }
    const cause = [...faults].reverse().find((fault) => fault.at <= from + options.livenessMarginMs);
    const allowed = (cause ? cause.healedAt - Math.min(cause.at, from) : 0) + options.sessionTimeoutMs + options.livenessMarginMs;
    if (gap > allowed)
      violations.push(
        `liveness: no leader for ${gap.toFixed(0)} ms from ${from.toFixed(0)} (allowed ${allowed.toFixed(0)} ms after ${cause?.kind ?? 'no fault'})`,
      );
  };
  for (const term of ordered) {
    if (term.start > coveredUntil) checkGap(coveredUntil, term.start);
    coveredUntil = Math.max(coveredUntil, term.end);
  }
  if (options.shutdownAt !== undefined) checkGap(coveredUntil, options.shutdownAt);

  // The fenced store: an accepted write whose token a larger, earlier-elected term had
  // already superseded came from a stale leader.
  let staleWritesAccepted = 0;
  for (const write of writes) {
    if (!write.accepted) continue;
    const superseding = terms.find((term) => term.token > write.token && term.start + skewMs < write.ts);
    if (superseding) {
      staleWritesAccepted += 1;
      violations.push(
        `stale write: ${write.id} wrote with token ${write.token} at ${write.ts.toFixed(0)}, after ${superseding.id} was elected with ${superseding.token}`,
      );
    }
  }
  // Guarded writes, in the order the server committed them (no clocks): a commit whose token
  // is lower than an earlier commit's came from a leader that had been superseded. A token no
  // term of that worker held is a commit from a participant that never led.
  let guardedCommitsSuperseded = 0;
  let highest: GuardedCommit | null = null;
  const heldTokens = new Set(terms.map((term) => `${term.id}:${term.token}`));
  for (const commit of [...(options.commits ?? [])].sort((a, b) => a.seq - b.seq)) {
    if (highest && commit.token < highest.token) {
      guardedCommitsSuperseded += 1;
      violations.push(
        `superseded commit: ${commit.id} committed record ${commit.seq} with token ${commit.token} after ${highest.id} had committed with ${highest.token}`,
      );
    } else if (!heldTokens.has(`${commit.id}:${commit.token}`)) {
      violations.push(`commit without a term: ${commit.id} committed record ${commit.seq} with token ${commit.token}, which it was never elected with`);
    }
    if (!highest || commit.token > highest.token) highest = commit;
  }
  return {
    faults: faults.length,
    terms,
    overlaps,
    maxLeaderlessMs,
    maxLeaderlessAt,
    staleWritesAccepted,
    writesFenced: writes.filter((write) => !write.accepted).length,
    writesAccepted: writes.filter((write) => write.accepted).length,
    guardedCommits: options.commits?.length ?? 0,
    guardedCommitsSuperseded,
    violations,
  };
}

/** The summary table printed at the end of a run. */
export function summaryTable(report: HistoryReport, faults: Fault[], label: string): string {
  const counts = new Map<string, number>();
  for (const fault of faults) counts.set(fault.kind, (counts.get(fault.kind) ?? 0) + 1);
  const excused = report.overlaps.filter((overlap) => overlap.excused).length;
  return [
    `chaos summary: ${label}`,
    `  faults injected         ${faults.length} (${[...counts].map(([kind, count]) => `${kind} ${count}`).join(', ')})`,
    `  leadership terms        ${report.terms.length}`,
    `  overlaps                ${report.overlaps.length - excused} (plus ${excused} of a SIGSTOPped leader, fenced by its lower token)`,
    `  max time without leader ${report.maxLeaderlessMs.toFixed(0)} ms`,
    `  fenced store writes     ${report.writesAccepted} accepted, ${report.writesFenced} rejected (lower token), ${report.staleWritesAccepted} accepted from a stale leader`,
    `  guarded writes          ${report.guardedCommits} committed through transaction(), ${report.guardedCommitsSuperseded} from a superseded leader`,
    `  token order violations  ${report.violations.filter((violation) => violation.startsWith('token')).length}`,
    `  violations              ${report.violations.length}`,
  ].join('\n');
}
