// The dashboard page's script, compiled on its own (tsconfig.json here: DOM, no Node). It
// renders the snapshots the server pushes over Server-Sent Events. Everything in a snapshot
// was read from ZooKeeper and is untrusted: it only ever reaches the page as text
// (textContent, never innerHTML), and the Content-Security-Policy forbids inline script.
import type { ClusterSnapshot, ElectionView, GroupView, MemberView, ParticipantView, TimelineEntry } from '../snapshot.js';

const byId = (id: string): HTMLElement => document.getElementById(id)!;

/** An element with text and children; attributes are set as properties of a plain kind only. */
function el(tag: string, options: { text?: string; className?: string; title?: string } = {}, ...children: Node[]): HTMLElement {
  const element = document.createElement(tag);
  if (options.text !== undefined) element.textContent = options.text;
  if (options.className) element.className = options.className;
  if (options.title) element.title = options.title;
  element.append(...children);
  return element;
}

function age(ms: number): string {
  if (ms < 0) ms = 0;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function clock(at: number): string {
  const time = new Date(at);
  return `${time.toLocaleTimeString([], { hour12: false })}.${String(time.getMilliseconds()).padStart(3, '0')}`;
}

function compact(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function bytes(count: number): string {
  return count >= 1 << 20 ? `${(count / (1 << 20)).toFixed(1)} MiB` : `${Math.round(count / 1024)} KiB`;
}

function table(headings: string[], rows: HTMLElement[]): HTMLElement {
  return el('table', {}, el('thead', {}, el('tr', {}, ...headings.map((heading) => el('th', { text: heading })))), el('tbody', {}, ...rows));
}

function row(cells: string[], className = '', dataColumn = -1): HTMLElement {
  return el('tr', { className }, ...cells.map((cell, index) => el('td', { text: cell, className: index === dataColumn ? 'data' : '' })));
}

function renderElection(election: ElectionView, now: number): HTMLElement {
  const leader: ParticipantView | undefined = election.participants[0];
  const box = el('div', { className: leader ? 'election' : 'election leaderless' });
  box.dataset.path = election.path;
  box.append(el('h3', { text: election.path }));
  const line = leader
    ? `leader ${leader.id} · token ${leader.fencingToken}${election.termSince !== null ? ` · leading for ${age(now - election.termSince)}` : ''}`
    : `no leader${election.leaderlessSince !== null ? ` for ${age(now - election.leaderlessSince)}` : ''}`;
  const leaderLine = el('p', { text: line, className: 'leader-line' });
  leaderLine.dataset.leader = leader?.id ?? '';
  box.append(leaderLine);
  if (election.participants.length > 0) {
    const rows = election.participants.map((participant, position) =>
      row(
        [
          String(position),
          position === 0 ? 'leader' : 'standby',
          participant.id,
          participant.recipe ?? 'unknown',
          participant.sessionId,
          age(now - participant.createdAtMs),
          participant.fencingToken,
          compact(participant.data),
        ],
        position === 0 ? 'leader' : '',
        7,
      ),
    );
    box.append(table(['#', 'role', 'id', 'recipe', 'session', 'age', 'token', 'data'], rows));
  }
  return box;
}

function renderGroup(group: GroupView, now: number, staleAfterMs: number): HTMLElement {
  const box = el('div', { className: 'election' });
  box.dataset.group = group.path;
  box.append(el('h3', { text: `${group.path} · ${group.members.length} member${group.members.length === 1 ? '' : 's'}` }));
  if (group.problem) box.append(el('p', { text: group.problem, className: 'leader-line' }));
  const rows = group.members.map((member: MemberView) => {
    const stale = now - member.updatedAt > staleAfterMs;
    const health = member.health;
    return row(
      [
        member.id,
        stale ? `${member.status} (stale)` : member.status,
        health ? String(health.pid) : '',
        health ? bytes(health.heapUsedBytes) : '',
        health ? age(health.uptimeSeconds * 1000) : '',
        health ? health.load.toFixed(2) : '',
        age(now - member.updatedAt),
        compact(member.details ?? member.data),
      ],
      stale ? 'stale' : '',
      7,
    );
  });
  if (rows.length > 0) box.append(table(['id', 'status', 'pid', 'heap', 'uptime', 'load', 'updated', 'details'], rows));
  return box;
}

function describe(entry: TimelineEntry): string {
  switch (entry.kind) {
    case 'leader':
      return `${entry.path}: leader ${entry.from === null ? '' : `${entry.from} → `}${entry.to} (token ${entry.token})${entry.gapMs ? `, ${duration(entry.gapMs)} without a leader` : ''}`;
    case 'leaderless':
      return `${entry.path}: ${entry.from} no longer leads; no leader`;
    case 'joined':
      return `${entry.group}: ${entry.id} joined`;
    case 'left':
      return `${entry.group}: ${entry.id} left`;
    case 'status':
      return `${entry.group}: ${entry.id} is ${entry.status}`;
  }
}

let latest: ClusterSnapshot | null = null;
/** Timeline entries up to this one happened before the page opened. */
let firstSeq: number | null = null;
let streamUp = false;

function render(): void {
  const snapshot = latest;
  const connection = byId('connection');
  const banner = byId('banner');
  if (!snapshot) return;
  const now = Date.now();
  byId('root').textContent = snapshot.root;
  if (!streamUp) {
    connection.dataset.state = 'offline';
    connection.textContent = 'dashboard unreachable';
  } else if (snapshot.connected) {
    connection.dataset.state = 'connected';
    connection.textContent = 'connected';
  } else {
    connection.dataset.state = 'disconnected';
    connection.textContent = 'disconnected';
  }
  if (streamUp && !snapshot.connected) {
    banner.hidden = false;
    banner.textContent =
      snapshot.disconnectedSince === null
        ? 'ZooKeeper: connecting…'
        : `ZooKeeper disconnected since ${clock(snapshot.disconnectedSince)} (${age(now - snapshot.disconnectedSince)}): what you see may be out of date`;
  } else if (!streamUp) {
    banner.hidden = false;
    banner.textContent = 'the dashboard server does not answer: retrying';
  } else banner.hidden = true;

  const elections = byId('elections');
  elections.replaceChildren(
    ...(snapshot.elections.length > 0
      ? snapshot.elections.map((election) => renderElection(election, now))
      : [el('p', { text: `no elections under ${snapshot.root} yet`, className: 'empty' })]),
  );
  byId('groups-section').hidden = snapshot.groups.length === 0;
  byId('groups').replaceChildren(...snapshot.groups.map((group) => renderGroup(group, now, snapshot.staleAfterMs)));

  const since = firstSeq ?? 0;
  const entries = snapshot.timeline.filter((entry) => entry.seq > since).reverse();
  byId('timeline').replaceChildren(
    ...(entries.length > 0
      ? entries.map((entry) => {
          const item = el('li', { text: `${clock(entry.at)}  ${describe(entry)}`, className: entry.kind });
          item.dataset.kind = entry.kind;
          return item;
        })
      : [el('li', { text: 'no changes since this page opened', className: 'empty' })]),
  );
}

const events = new EventSource('/events');
events.onmessage = (message: MessageEvent<string>) => {
  latest = JSON.parse(message.data) as ClusterSnapshot;
  firstSeq ??= latest.timeline.reduce((last, entry) => Math.max(last, entry.seq), 0);
  streamUp = true;
  render();
};
events.onerror = () => {
  // EventSource reconnects by itself; until then the page says it is not live.
  streamUp = false;
  render();
};
// Ages and "disconnected since" move on between pushes.
setInterval(render, 1000);
