import { simulate, type SimOptions, type SimResult } from './simulation.js';

/**
 * Delta debugging over the plan: drops planned events (calls, faults, operator writes) while
 * the run still breaks the same invariant, so a failure is reported with the fewest events
 * that still produce it. The scheduling stream is unchanged, so each attempt is as
 * deterministic as the original run.
 */
export async function shrink(
  options: Omit<SimOptions, 'keep' | 'traced'>,
  failing: SimResult,
  budgetMs = 60_000,
): Promise<{ keep: number[]; result: SimResult }> {
  const invariant = failing.violation!.invariant;
  // Only events the failing run reached can matter.
  const reached = failing.plan.filter((event) => event.at <= failing.virtualMs).map((event) => event.index);
  let keep = reached;
  let best = failing;
  const deadline = performance.now() + budgetMs;
  const fails = async (candidate: number[]) => {
    const result = await simulate({ ...options, keep: new Set(candidate) });
    return result.violation?.invariant === invariant ? result : null;
  };
  let chunks = 2;
  while (keep.length > 1 && performance.now() < deadline) {
    const size = Math.ceil(keep.length / chunks);
    let reduced = false;
    for (let start = 0; start < keep.length && performance.now() < deadline; start += size) {
      const candidate = [...keep.slice(0, start), ...keep.slice(start + size)];
      const result = await fails(candidate);
      if (result) {
        keep = candidate;
        best = result;
        chunks = Math.max(chunks - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (size === 1) break;
      chunks = Math.min(keep.length, chunks * 2);
    }
  }
  return { keep, result: best };
}
