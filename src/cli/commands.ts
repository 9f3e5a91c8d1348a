import { ZkLeaderError, isZooKeeperError } from '../errors.js';
import { Membership, type Member } from '../membership.js';
import { LeaderObserver } from '../observer.js';
import { isCandidateName, type Participant } from '../candidate.js';
import { readElection, type ElectionReading } from '../election-reader.js';
import { joinPath, validatePath } from '../paths.js';
import type { Session } from '../session.js';
import { startDashboard } from '../dashboard/server.js';
import { age, bytes, compact } from '../format.js';
import { table, toJson } from './format.js';

export interface CommandOptions {
  session: Session;
  json: boolean;
  group?: string;
}

/** Exit codes, a contract for scripts. */
export const exitCode = { ok: 0, noLeader: 1, usage: 2 } as const;

function checkedPath(path: string, what: string): string {
  try {
    return validatePath(path, what);
  } catch (error) {
    throw new ZkLeaderError('USAGE', (error as Error).message);
  }
}

/**
 * The queue of an election, or a clear error for a path that is not one: missing (no
 * leader, exit 1) or holding children of another format (exit 2).
 */
async function readElectionOrFail(session: Session, path: string): Promise<{ participants: Participant[]; foreign: string[] }> {
  const reading = await readElection(session, path);
  if (!reading) throw new ZkLeaderError('NO_LEADER', `no election at ${path}: the node does not exist`);
  if (reading.kind === 'not-an-election') {
    const sample = reading.children
      .slice(0, 3)
      .map((name) => `'${name}'`)
      .join(', ');
    throw new ZkLeaderError('USAGE', `${path} is not an election: its ${reading.children.length} children (${sample}) are not zk-leader candidates`);
  }
  return { participants: reading.participants, foreign: reading.foreign };
}

function participantRows(participants: Participant[], now: number, withRecipe: boolean): string[][] {
  return participants.map((participant, position) => [
    String(position),
    position === 0 ? 'leader' : 'standby',
    participant.id,
    ...(withRecipe ? [participant.recipe ?? 'unknown'] : []),
    participant.sessionId,
    age(now - participant.createdAtMs),
    participant.fencingToken.toString(),
    compact(participant.data),
  ]);
}

function memberRows(members: Member[], now: number): string[][] {
  return members.map((member) => [
    member.id,
    member.status,
    member.health ? String(member.health.pid) : '',
    member.health ? bytes(member.health.heapUsedBytes) : '',
    member.health ? age(member.health.uptimeSeconds * 1000) : '',
    age(now - member.updatedAt),
    compact(member.details ?? member.data),
  ]);
}

async function readGroup(session: Session, group: string): Promise<Member[]> {
  const membership = new Membership({ session });
  try {
    return await membership.watch(checkedPath(group, '--group'));
  } finally {
    await membership.stop();
  }
}

function render(path: string, participants: Participant[], foreign: string[], members: Member[] | null): string {
  const now = Date.now();
  const lines = [
    participants.length > 0 ? `election ${path}: leader ${participants[0]!.id} (token ${participants[0]!.fencingToken})` : `election ${path}: no leader`,
  ];
  if (participants.length > 0) {
    // The recipe column appears when another library's participants are in the queue.
    const withRecipe = participants.some((participant) => participant.recipe !== 'zk-leader');
    const headings = ['#', 'role', 'id', ...(withRecipe ? ['recipe'] : []), 'session', 'age', 'token', 'data'];
    lines.push('', table(headings, participantRows(participants, now, withRecipe)));
  }
  if (foreign.length > 0) {
    lines.push('', `sequential nodes of no known recipe (no zk-leader participant leads while one is ahead of it): ${foreign.join(', ')}`);
  }
  if (members) {
    lines.push('', `group: ${members.length} member${members.length === 1 ? '' : 's'}`);
    if (members.length > 0) lines.push(table(['id', 'status', 'pid', 'heap', 'uptime', 'updated', 'details'], memberRows(members, now)));
  }
  return lines.join('\n');
}

/** `zk-leader status <path>` */
export async function statusOf(target: string, options: CommandOptions): Promise<number> {
  const path = checkedPath(target, 'path');
  const { participants, foreign } = await readElectionOrFail(options.session, path);
  const members = options.group ? await readGroup(options.session, options.group) : null;
  if (options.json) {
    process.stdout.write(
      toJson({ path, leader: participants[0] ?? null, participants, ...(foreign.length > 0 ? { foreign } : {}), ...(members ? { members } : {}) }) + '\n',
    );
  } else {
    process.stdout.write(render(path, participants, foreign, members) + '\n');
  }
  return participants.length > 0 ? exitCode.ok : exitCode.noLeader;
}

/** `zk-leader watch <path>`: one line per change until SIGINT/SIGTERM. */
export async function watchElection(target: string, options: CommandOptions): Promise<number> {
  const path = checkedPath(target, 'path');
  const { session } = options;
  const membership = options.group ? new Membership({ session }) : null;
  const observer = new LeaderObserver({ session, path, participants: 'all' });
  const print = (fields: Record<string, unknown>, words: string) => {
    const stamp = new Date().toISOString();
    process.stdout.write(options.json ? toJson({ ts: Date.now(), ...fields }) + '\n' : `${stamp} ${words}\n`);
  };
  // One line per change of the queue: a leader's new data (proclaim) is none, and neither is
  // a path with nobody in it yet (missing, empty or not an election) when the watch starts.
  let last = '';
  observer.on('election', ({ participants }) => {
    // A single-node handover keeps the node's name: the token tells the holders apart.
    const summary = participants.map((participant) => `${participant.node}:${participant.fencingToken}`).join(',');
    if (summary === last) return;
    last = summary;
    const leader = participants[0];
    const queue = participants.map((participant) => participant.id);
    print(
      { event: 'election', path, leader: leader ?? null, queue },
      leader ? `leader ${leader.id} (token ${leader.fencingToken}); queue: ${queue.join(', ')}` : `no leader on ${path}`,
    );
  });
  // The observer reads again once the connection (or a new session) is back.
  const failed = (error: Error) => process.stderr.write(`zk-leader: ${error.message}; retrying when the connection is back\n`);
  observer.on('error', failed);
  observer.on('interrupted', failed);
  if (membership) {
    membership.on('members', (members) =>
      print({ event: 'members', group: options.group, members }, `members: ${members.map((member) => `${member.id}=${member.status}`).join(', ') || 'none'}`),
    );
    await membership.watch(checkedPath(options.group!, '--group'));
  }
  await observer.start();
  await untilInterrupted();
  await observer.stop();
  await membership?.stop();
  return exitCode.ok;
}

/** `zk-leader list <root>`: every election under root (breadth first, up to 10 000 nodes). */
export async function listElections(target: string, options: CommandOptions): Promise<number> {
  const root = target === '/' ? target : checkedPath(target, 'root');
  const { session } = options;
  if (!(await session.exists(root))) throw new ZkLeaderError('USAGE', `no node at ${root}: check the root path`);
  const found: { path: string; leader: Participant | null; participants: number }[] = [];
  const pending = [root];
  for (let visited = 0; pending.length > 0 && visited < 10_000; visited++) {
    const path = pending.shift()!;
    let reading: ElectionReading | null;
    try {
      reading = await readElection(session, path);
    } catch (error) {
      if (isZooKeeperError(error, 'NO_NODE', 'NO_AUTH')) continue;
      throw error;
    }
    if (!reading) continue;
    if (reading.kind === 'queue' || reading.kind === 'single-node') {
      found.push({ path, leader: reading.leader, participants: reading.participants.length });
    }
    for (const child of reading.children) if (!isCandidateName(child) && child !== reading.lockName) pending.push(joinPath(path, child));
  }
  if (options.json) {
    process.stdout.write(toJson(found) + '\n');
  } else if (found.length === 0) {
    process.stdout.write(`no elections under ${root}\n`);
  } else {
    const rows = found.map((election) => [
      election.path,
      election.leader?.id ?? '(none)',
      election.leader?.fencingToken.toString() ?? '',
      String(election.participants),
    ]);
    process.stdout.write(table(['election', 'leader', 'token', 'participants'], rows) + '\n');
  }
  return found.length > 0 ? exitCode.ok : exitCode.noLeader;
}

/** `zk-leader dashboard --root <path>`: serves the live page until SIGINT/SIGTERM. */
export async function serveDashboard(
  target: string,
  options: CommandOptions & { groups: string[]; http: { port: number; host: string; basicAuth?: string } },
): Promise<number> {
  const root = target === '/' ? target : checkedPath(target, '--root');
  const groups = options.groups.map((group) => checkedPath(group, '--group'));
  let lastProblem = '';
  const dashboard = await startDashboard({
    session: options.session,
    root,
    groups,
    ...options.http,
    // One line per distinct problem, not one per retry.
    onError: (error) => {
      const message = (error as Error).message;
      if (message !== lastProblem) process.stderr.write(`zk-leader: dashboard: ${message}\n`);
      lastProblem = message;
    },
  });
  process.stdout.write(
    options.json
      ? toJson({ event: 'dashboard', url: dashboard.url, root, groups }) + '\n'
      : `zk-leader dashboard: ${dashboard.url} (root ${root}; Ctrl+C to stop)\n`,
  );
  await untilInterrupted();
  await dashboard.close();
  return exitCode.ok;
}

/** Resolves on the first SIGINT or SIGTERM: the long-running commands end there. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
