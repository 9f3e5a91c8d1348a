/**
 * Checks a chaos run's history, Jepsen-style: the `worker.ts --json` lines of every worker
 * plus the log of injected faults go in; leadership terms, overlaps, leaderless gaps and
 * token order come out, with every violation named.
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
  violations: string[];
}

export interface CheckOptions {
  sessionTimeoutMs: number;
  /** Extra time allowed, beyond a fault's own duration and one session timeout, to elect again. */
  livenessMarginMs: number;
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

/** A paused worker's term may outlive its pause only until it has noticed: the checker excuses that overlap. */
function excuse(first: Term, second: Term, faults: Fault[], events: WorkerEvent[]): string | null {
  const pause = faults.find(
    (fault) => fault.kind === 'sigstop' && fault.target === first.id && fault.at >= first.start && fault.at <= second.start && second.start <= fault.healedAt,
  );
  if (!pause) return null;
  // After SIGCONT the resumed process must say `lost` before anything else.
  const firstAfterResume = events
    .filter((event) => event.id === first.id && event.ts >= pause.healedAt)
    .sort((a, b) => a.ts - b.ts)[0];
  if (firstAfterResume?.event !== 'lost' && firstAfterResume?.event !== 'exited') return null;
  if (first.token >= second.token) return null;
  return `${first.id} was paused (SIGSTOP) from ${pause.at} to ${pause.healedAt}, emitted lost on resume, and holds the lower token`;
}

export function checkHistory(events: WorkerEvent[], faults: Fault[], options: CheckOptions): HistoryReport {
  const endOfHistory = Math.max(...events.map((event) => event.ts), ...faults.map((fault) => fault.healedAt));
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
      const excused = excuse(first, second, faults, events);
      overlaps.push({ first, second, excused });
      if (!excused) {
        violations.push(`overlap: ${first.id} (token ${first.token}, ${first.start}-${first.end}) and ${second.id} (token ${second.token}, from ${second.start})`);
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

  // Liveness: leaderless stretches, each bounded by the fault that caused it.
  let maxLeaderlessMs = 0;
  let maxLeaderlessAt = 0;
  let coveredUntil = ordered[0]?.start ?? endOfHistory;
  for (const term of ordered) {
    if (term.start > coveredUntil) {
      const gap = term.start - coveredUntil;
      if (gap > maxLeaderlessMs) {
        maxLeaderlessMs = gap;
        maxLeaderlessAt = coveredUntil;
      }
      const cause = [...faults].reverse().find((fault) => fault.at <= coveredUntil + options.livenessMarginMs);
      const allowed = (cause ? cause.healedAt - Math.min(cause.at, coveredUntil) : 0) + options.sessionTimeoutMs + options.livenessMarginMs;
      if (gap > allowed) violations.push(`liveness: no leader for ${gap.toFixed(0)} ms from ${coveredUntil} (allowed ${allowed.toFixed(0)} ms after ${cause?.kind ?? 'no fault'})`);
    }
    coveredUntil = Math.max(coveredUntil, term.end);
  }
  return { faults: faults.length, terms, overlaps, maxLeaderlessMs, maxLeaderlessAt, violations };
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
    `  token order violations  ${report.violations.filter((violation) => violation.startsWith('token')).length}`,
    `  violations              ${report.violations.length}`,
  ].join('\n');
}
