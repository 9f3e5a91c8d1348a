// The dashboard page's script, compiled on its own (tsconfig.json here: DOM, no Node). It
// renders the snapshots the server pushes over Server-Sent Events. Everything in a snapshot
// was read from ZooKeeper and is untrusted: it only ever reaches the page as text
// (textContent, never innerHTML), and the Content-Security-Policy forbids inline script.
import type {
  ClusterSnapshot,
  ConnectionView,
  ElectionHistory,
  ElectionView,
  GroupView,
  MemberView,
  ParticipantView,
  ServerView,
  TermView,
  TimelineEntry,
} from '../snapshot.js';
// Resolves to /format.js beside /app.js: the server serves both (a URL's '..' stops at the root).
import { age, bytes, compact, plainText } from '../../format.js';

const byId = (id: string): HTMLElement => document.getElementById(id)!;
const svgNs = 'http://www.w3.org/2000/svg';

/** An element with text and children; attributes are set as properties of a plain kind only. */
function el(tag: string, options: { text?: string; className?: string; title?: string } = {}, ...children: Node[]): HTMLElement {
  const element = document.createElement(tag);
  if (options.text !== undefined) element.textContent = options.text;
  if (options.className) element.className = options.className;
  if (options.title) element.title = options.title;
  element.append(...children);
  return element;
}

/** An SVG element; attribute values are numbers or our own words, text is set as text. */
function svg(tag: string, attributes: Record<string, string | number>, text?: string): SVGElement {
  const element = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A hover text for an SVG shape (its `<title>` child, as text). */
function tooltip(shape: SVGElement, text: string): SVGElement {
  shape.append(svg('title', {}, text));
  return shape;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function clock(at: number, withMs = true): string {
  const time = new Date(at);
  const text = time.toLocaleTimeString([], { hour12: false });
  return withMs ? `${text}.${String(time.getMilliseconds()).padStart(3, '0')}` : text;
}

/** A table; a heading is its text, or `[text, what it means]` for a hover explanation. */
function table(headings: (string | [string, string])[], rows: HTMLElement[]): HTMLElement {
  const cells = headings.map((heading) => (typeof heading === 'string' ? el('th', { text: heading }) : el('th', { text: heading[0], title: heading[1] })));
  return el('table', {}, el('thead', {}, el('tr', {}, ...cells)), el('tbody', {}, ...rows));
}

/** A row; a cell is its text, or `[text, class]`, or `[text, class, hover text]`. */
function row(cells: (string | [string, string] | [string, string, string])[], className = ''): HTMLElement {
  return el(
    'tr',
    { className },
    ...cells.map((cell) =>
      typeof cell === 'string' ? el('td', { text: cell }) : el('td', { text: cell[0], className: cell[1], ...(cell[2] ? { title: cell[2] } : {}) }),
    ),
  );
}

/** A published value's cell: shortened as the CLI shortens it, the whole of it on hover. */
function dataCell(value: unknown): [string, string, string] {
  const shown = compact(value);
  const whole = plainText(value);
  return [shown, 'data', shown === whole ? '' : whole];
}

/** Who else a session is, across elections and groups: the same ZooKeeper session is the same process. */
interface Links {
  participants: Map<string, { path: string; position: number }[]>;
  members: Map<string, { group: string; member: MemberView }[]>;
}

function links(snapshot: ClusterSnapshot): Links {
  const participants: Links['participants'] = new Map();
  const members: Links['members'] = new Map();
  for (const election of snapshot.elections)
    election.participants.forEach((participant, position) => {
      participants.set(participant.sessionId, [...(participants.get(participant.sessionId) ?? []), { path: election.path, position }]);
    });
  for (const group of snapshot.groups)
    for (const member of group.members) members.set(member.sessionId, [...(members.get(member.sessionId) ?? []), { group: group.path, member }]);
  return { participants, members };
}

/** A session's connection in words, and the cell's class. */
function connectionCell(connection: ConnectionView, now: number): [string, string] {
  switch (connection.state) {
    case 'connected':
      return ['connected', 'connection'];
    case 'listed':
      return ['connected (not yet seen answering)', 'connection'];
    case 'none':
      return [`no connection for ${age(now - connection.since)}`, 'connection bad'];
    case 'unknown':
      return ['unknown', 'connection'];
  }
}

const causeWords: Record<NonNullable<TermView['cause']>, string> = {
  released: 'released (its node went while it was connected, then its session closed: a stop)',
  deleted: "node deleted while its session lived (a resign, or another client's delete)",
  expired: 'session expired (no server held its connection: a crash or a partition)',
  'election-removed': "the election's node was deleted",
  unknown: 'cause unknown',
  pending: 'looking at the servers…',
};

function endWords(term: TermView): string {
  return term.cause === 'unknown' ? `cause unknown: ${term.causeDetail ?? ''}` : causeWords[term.cause ?? 'pending'];
}

function renderElection(election: ElectionView, history: ElectionHistory | undefined, linked: Links, now: number): HTMLElement {
  const leader: ParticipantView | undefined = election.participants[0];
  const box = el('div', { className: leader ? 'election' : 'election leaderless' });
  box.dataset.path = election.path;
  box.append(el('h3', { text: election.path }));
  const last = history?.terms.at(-1);
  let line: string;
  if (leader) {
    line = `leader ${leader.id} · fencing token ${leader.fencingToken}`;
    if (election.termSince !== null) line += ` · leading for ${age(now - election.termSince)} (since ${clock(election.termSince, false)})`;
  } else {
    line = `no leader${election.leaderlessSince !== null ? ` for ${age(now - election.leaderlessSince)}` : ''}`;
    if (last && last.endedAt !== null) line += ` · last leader ${last.leader} (token ${last.token}) until ${clock(last.endedAt, false)}: ${endWords(last)}`;
  }
  const leaderLine = el('p', { text: line, className: 'leader-line' });
  leaderLine.dataset.leader = leader?.id ?? '';
  box.append(leaderLine);
  if (election.participants.length > 0) {
    const rows = election.participants.map((participant, position) => {
      const member = (linked.members.get(participant.sessionId) ?? []).map((link) => `${link.member.id} in ${link.group}`).join(', ');
      const tr = row(
        [
          position === 0 ? '0 (leader)' : position === 1 ? '1 (next)' : String(position),
          participant.id,
          participant.recipe ?? 'unknown',
          [participant.sessionId, 'session'],
          connectionCell(participant.connection, now),
          age(now - participant.createdAtMs),
          [member, 'link'],
          dataCell(participant.data),
        ],
        position === 0 ? 'leader' : '',
      );
      tr.dataset.session = participant.sessionId;
      return tr;
    });
    box.append(
      table(
        [
          ['queue position', 'where its node stands in the queue: 0 leads, 1 takes over next'],
          'id',
          'recipe',
          ['session', 'the ZooKeeper session that owns its node: the same session is the same process'],
          ['connection', "its session's connection, from the servers' cons: a crashed leader has none, yet holds its node until the session expires"],
          ['in queue for', 'how long ago its node was created (it joined the queue then; the leader has led for less, since it took over)'],
          ['group member', 'the group members of the same session'],
          ['data', 'what the participant published'],
        ],
        rows,
      ),
    );
  }
  return box;
}

function renderGroup(group: GroupView, linked: Links, now: number, staleAfterMs: number): HTMLElement {
  const box = el('div', { className: 'election' });
  box.dataset.group = group.path;
  box.append(el('h3', { text: `${group.path} · ${group.members.length} member${group.members.length === 1 ? '' : 's'}` }));
  if (group.problem) box.append(el('p', { text: group.problem, className: 'leader-line' }));
  const rows = group.members.map((member: MemberView) => {
    const stale = now - member.updatedAt > staleAfterMs;
    const health = member.health;
    const elections = (linked.participants.get(member.sessionId) ?? [])
      .map((link) => `${link.position === 0 ? 'leader of' : `standby (${link.position}) in`} ${link.path}`)
      .join(', ');
    const tr = row(
      [
        member.id,
        stale ? `${member.status} (stale)` : member.status,
        health ? String(health.pid) : '',
        health ? bytes(health.heapUsedBytes) : '',
        health ? age(health.uptimeSeconds * 1000) : '',
        health ? health.load.toFixed(2) : '',
        age(now - member.updatedAt),
        connectionCell(member.connection, now),
        [elections, 'link'],
        dataCell(member.details),
        dataCell(member.data),
      ],
      stale ? 'stale' : '',
    );
    tr.dataset.session = member.sessionId;
    return tr;
  });
  if (rows.length > 0) {
    box.append(
      table(
        [
          'id',
          'status',
          'pid',
          'heap used',
          'uptime',
          ['load', "the machine's load average over 1 minute"],
          ['last report', 'how long ago the member last wrote its record'],
          ['connection', "its session's connection, from the servers' cons"],
          ['in elections', 'the election candidates of the same session'],
          ['status details', 'what the member said with its status'],
          ['data', 'what the member published when it joined'],
        ],
        rows,
      ),
    );
  }
  return box;
}

/** A stable colour per leader id, as an SVG fill attribute (not a style: the CSP allows no inline style). */
function colourOf(id: string): string {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  // Ids that differ in one character (worker-1, worker-2) land far apart on the colour wheel.
  return `hsl(${Math.round((hash * 137.508) % 360)} 45% 48%)`;
}

/** Time ticks about every 120 px. */
function ticks(from: number, to: number, width: number): number[] {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600].map((s) => s * 1000);
  const wanted = ((to - from) * 120) / width;
  const step = steps.find((candidate) => candidate >= wanted) ?? steps.at(-1)!;
  const result: number[] = [];
  for (let at = Math.ceil(from / step) * step; at <= to; at += step) result.push(at);
  return result;
}

/** One election's terms as bars (leaderless gaps in red), and its handovers listed below. */
function renderHistory(history: ElectionHistory, current: ElectionView | undefined, window: { from: number; to: number }, width: number): HTMLElement {
  const box = el('div', { className: 'history' });
  box.dataset.path = history.path;
  box.append(el('h3', { text: history.path }));
  const height = 52;
  const barTop = 4;
  const barHeight = 28;
  const span = Math.max(1, window.to - window.from);
  const x = (at: number) => (Math.min(Math.max(at, window.from), window.to) - window.from) * (width / span);
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'bars' });
  chart.append(svg('rect', { x: 0, y: barTop, width, height: barHeight, class: 'lane' }));
  const gap = (from: number, to: number, ongoing: boolean) => {
    if (to <= window.from || from >= window.to) return;
    const left = x(from);
    const gapWidth = Math.max(2, x(to) - left);
    const rect = svg('rect', { x: left, y: barTop, width: gapWidth, height: barHeight, class: 'gap', 'data-gap-ms': Math.round(to - from) });
    const words = `${ongoing ? 'no leader for' : 'no leader for'} ${duration(to - from)}${ongoing ? ' so far' : ''} (from ${clock(from)})`;
    chart.append(tooltip(rect, words));
    if (gapWidth > 60) chart.append(svg('text', { x: left + 4, y: barTop + 18, class: 'gap-label' }, duration(to - from)));
  };
  history.terms.forEach((term, index) => {
    const end = term.endedAt ?? window.to;
    if (end >= window.from && term.startedAt <= window.to) {
      const left = x(term.startedAt);
      const barWidth = Math.max(1, x(end) - left);
      const rect = svg('rect', {
        x: left,
        y: barTop,
        width: barWidth,
        height: barHeight,
        fill: colourOf(term.leader),
        class: 'term',
        'data-leader': term.leader,
      });
      const ended = term.endedAt === null ? 'leading now' : `until ${clock(term.endedAt)}: ${endWords(term)}`;
      chart.append(tooltip(rect, `${term.leader} · fencing token ${term.token} · from ${clock(term.startedAt)} ${ended}`));
      if (term.unreachableSince !== null && term.endedAt !== null) {
        const from = x(term.unreachableSince);
        chart.append(
          tooltip(
            svg('rect', { x: from, y: barTop, width: Math.max(1, x(term.endedAt) - from), height: barHeight, class: 'unreachable' }),
            `${term.leader} unreachable from ${clock(term.unreachableSince)}, holding its node until its session expired`,
          ),
        );
      }
      if (barWidth > 70) chart.append(svg('text', { x: left + 4, y: barTop + 18, class: 'term-label' }, `${term.leader} · ${term.token}`));
    }
    const next = history.terms[index + 1];
    if (term.endedAt !== null && next) gap(term.endedAt, next.startedAt, false);
    else if (term.endedAt !== null && !current?.participants[0]) gap(term.endedAt, window.to, true);
  });
  for (const at of ticks(window.from, window.to, width)) {
    chart.append(svg('line', { x1: x(at), x2: x(at), y1: barTop + barHeight, y2: barTop + barHeight + 4, class: 'tick' }));
    chart.append(svg('text', { x: x(at), y: height - 2, class: 'tick-label' }, clock(at, false)));
  }
  box.append(chart);
  const last = history.terms.at(-1);
  if (last && last.endedAt !== null && !current?.participants[0]) {
    box.append(el('p', { text: `no leader for ${age(window.to - last.endedAt)} (since ${clock(last.endedAt)})`, className: 'leaderless-now' }));
  }
  const handovers = history.terms.flatMap((term, index) => {
    if (term.endedAt === null) return [];
    const next = history.terms[index + 1];
    const parts = [`${clock(term.endedAt)}  ${term.leader} → ${next ? next.leader : 'no leader yet'}: ${endWords(term)}`];
    if (next) parts.push(`${duration(Math.max(0, next.startedAt - term.endedAt))} without a leader`);
    if (term.unreachableSince !== null) parts.push(`leader unreachable ${duration(term.endedAt - term.unreachableSince)} before its session expired`);
    const item = el('li', { text: parts.join(' · '), title: term.causeDetail ?? '' });
    item.dataset.cause = term.cause ?? '';
    return [item];
  });
  box.append(
    handovers.length > 0
      ? el('ol', { className: 'handovers' }, ...handovers)
      : el('p', { text: 'no handover since the dashboard started', className: 'empty' }),
  );
  if (history.dropped > 0) box.append(el('p', { text: `${history.dropped} older terms not kept`, className: 'empty' }));
  return box;
}

function renderEnsemble(servers: ServerView[], pollMs: number): HTMLElement[] {
  if (servers.length === 0) return [el('p', { text: 'the dashboard asks no server (ensemble polling is off)', className: 'empty' })];
  const rows = servers.map((server) => {
    const down = server.words.srvr === 'no-answer' && server.words.mntr === 'no-answer' && server.words.cons === 'no-answer';
    const mode = server.checkedAt === null ? 'asking…' : down ? 'down' : (server.mode ?? 'unknown');
    const latency = server.latencyMs ? `${server.latencyMs.min} / ${server.latencyMs.avg} / ${server.latencyMs.max} ms` : '';
    const number = (value: number | null) => (value === null ? '' : String(value));
    const tr = row(
      [
        server.address,
        [mode, 'mode'],
        [server.version ?? '', 'version'],
        [latency, 'latency'],
        number(server.outstanding),
        number(server.connections),
        number(server.nodeCount),
        server.zxid ?? '',
        [server.problem ?? '', 'problem'],
      ],
      down ? 'down' : server.problem ? 'partial' : '',
    );
    tr.dataset.server = server.address;
    tr.dataset.mode = server.checkedAt === null ? '' : down ? 'down' : (server.mode ?? 'unknown');
    return tr;
  });
  return [
    table(
      [
        'server',
        'mode',
        'version',
        ['latency min / avg / max', "the server's request latency since its counters were reset"],
        ['outstanding requests', 'requests queued at the server'],
        ['client connections', 'connections the server holds now'],
        'znodes',
        ['last zxid', 'the last transaction the server has seen'],
        'what it does not tell',
      ],
      rows,
    ),
    el('p', {
      text: `from the four-letter words srvr, mntr and cons, every ${pollMs % 1000 === 0 ? `${pollMs / 1000} s` : `${pollMs} ms`}; cons (which sessions each server holds) is also how the timeline tells a release from an expiry`,
      className: 'empty',
    }),
  ];
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

  const linked = links(snapshot);
  const histories = new Map(snapshot.history.map((history) => [history.path, history]));
  const elections = byId('elections');
  elections.replaceChildren(
    ...(snapshot.elections.length > 0
      ? snapshot.elections.map((election) => renderElection(election, histories.get(election.path), linked, now))
      : [el('p', { text: `no elections under ${snapshot.root} yet`, className: 'empty' })]),
  );
  byId('groups-section').hidden = snapshot.groups.length === 0;
  byId('groups').replaceChildren(...snapshot.groups.map((group) => renderGroup(group, linked, now, snapshot.staleAfterMs)));

  // The window: the chosen span back from now, but no earlier than the first term kept.
  const span = Number((byId('window') as HTMLSelectElement).value) || 3_600_000;
  const earliest = Math.min(snapshot.startedAt, ...snapshot.history.flatMap((history) => history.terms.map((term) => term.startedAt)));
  const window = { from: Math.max(now - span, earliest), to: now };
  byId('timeline-since').textContent = `from ${clock(window.from, false)} to now; the dashboard started at ${clock(snapshot.startedAt, false)}`;
  const width = Math.max(300, byId('histories').clientWidth || 900);
  const current = new Map(snapshot.elections.map((election) => [election.path, election]));
  byId('histories').replaceChildren(
    ...(snapshot.history.length > 0
      ? snapshot.history.map((history) => renderHistory(history, current.get(history.path), window, width))
      : [el('p', { text: 'no leader seen since the dashboard started', className: 'empty' })]),
  );
  byId('ensemble').replaceChildren(...renderEnsemble(snapshot.ensemble.servers, snapshot.ensemble.pollMs));

  const entries = [...snapshot.timeline].reverse();
  byId('changes').replaceChildren(
    ...(entries.length > 0
      ? entries.map((entry) => {
          const item = el('li', { text: `${clock(entry.at)}  ${describe(entry)}`, className: entry.kind });
          item.dataset.kind = entry.kind;
          return item;
        })
      : [el('li', { text: 'no changes since the dashboard started', className: 'empty' })]),
  );
}

const events = new EventSource('/events');
events.onmessage = (message: MessageEvent<string>) => {
  latest = JSON.parse(message.data) as ClusterSnapshot;
  streamUp = true;
  render();
};
events.onerror = () => {
  // EventSource reconnects by itself; until then the page says it is not live.
  streamUp = false;
  render();
};
byId('window').addEventListener('change', render);
// Ages, bars and "disconnected since" move on between pushes.
setInterval(render, 1000);
