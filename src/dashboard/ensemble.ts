// The ensemble panel's source: each server of the connect string asked its four-letter words
// (`srvr`, `mntr`, `cons`) on a timer. `cons` also says which sessions each server holds a
// connection for, which is how the history tells a leader that crashed (its session expired
// with no connection left) from one that let go (its node went while it was connected).
import { EventEmitter } from 'eventemitter3';
import type { ConnectServer } from '../connect-string.js';
import { validateMs } from '../options.js';
import { fourLetterWord } from '../testing/four-letter.js';
import type { FourLetterWordState, ServerView } from './snapshot.js';

/** Asks one server one four-letter word; null when nothing answers. */
export type AskServer = (host: string, port: number, word: string) => Promise<string | null>;

export interface EnsembleMonitorOptions {
  servers: readonly ConnectServer[];
  /** How often every server is asked (default 1000 ms). */
  pollMs?: number;
  /** How long one answer may take (default 1000 ms). */
  answerTimeoutMs?: number;
  /** Wall clock, ms since the epoch (injected in tests). */
  now?: () => number;
  /** The four-letter word transport (injected in tests). */
  ask?: AskServer;
}

/** What `srvr` says, parsed: those fields of a server's view. */
export type ServerStatus = Pick<ServerView, 'version' | 'mode' | 'latencyMs' | 'outstanding' | 'connections' | 'nodeCount' | 'zxid'>;

/** One client connection `cons` lists. */
export interface ServerConnection {
  address: string;
  /** The session, 16 hex digits as participants carry it; null before the handshake. */
  sessionId: string | null;
  /** The negotiated session timeout. */
  timeoutMs: number | null;
  /** The server's time of its last response to this connection (its own clock; only compared with itself). */
  lastResponse: number | null;
}

/** Whether a server refused a word because `4lw.commands.whitelist` does not name it. */
export function notAllowed(reply: string): boolean {
  return /is not executed because it is not in the whitelist/i.test(reply);
}

export function parseSrvr(reply: string): ServerStatus {
  const field = (name: string) => reply.match(new RegExp(`^${name}:\\s*(.+)$`, 'mi'))?.[1]?.trim() ?? null;
  const number = (name: string) => {
    const text = field(name);
    return text === null || !/^\d+$/.test(text) ? null : Number(text);
  };
  const latency = field('Latency min/avg/max')?.split('/').map(Number);
  return {
    // "3.8.0-9316c2a..., built on ...": the release is enough.
    version: field('Zookeeper version')?.match(/^[0-9][^-,\s]*/)?.[0] ?? null,
    mode: field('Mode'),
    latencyMs: latency?.length === 3 && latency.every(Number.isFinite) ? { min: latency[0]!, avg: latency[1]!, max: latency[2]! } : null,
    outstanding: number('Outstanding'),
    connections: number('Connections'),
    nodeCount: number('Node count'),
    zxid: field('Zxid'),
  };
}

/** `mntr`'s `key<TAB>value` lines. */
export function parseMntr(reply: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of reply.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) values.set(line.slice(0, tab), line.slice(tab + 1).trim());
  }
  return values;
}

/** `cons`: one line per connection, `/ip:port[n](queued=...,sid=0x...,to=...,lresp=...)`. */
export function parseCons(reply: string): ServerConnection[] {
  const connections: ServerConnection[] = [];
  for (const line of reply.split('\n')) {
    const match = line.trim().match(/^\/?(\S+?)\[\d+\]\((.*)\)$/);
    if (!match) continue;
    const fields = new Map(match[2]!.split(',').map((pair) => pair.split('=', 2) as [string, string]));
    const sid = fields.get('sid');
    const number = (name: string) => (fields.has(name) && /^\d+$/.test(fields.get(name)!) ? Number(fields.get(name)) : null);
    connections.push({
      address: match[1]!,
      sessionId: sid && /^0x[0-9a-f]+$/i.test(sid) && sid !== '0x0' ? sid.slice(2).toLowerCase().padStart(16, '0') : null,
      timeoutMs: number('to'),
      lastResponse: number('lresp'),
    });
  }
  return connections;
}

/** What the last rounds of `cons` say of one session. */
export type SessionSighting =
  /** Some server did not answer `cons` (or refuses it): whether the session is connected is not known. */
  | { state: 'unknown'; why: string }
  /**
   * A server holds a live connection for it. `answeredAfter`: the server answered it after this
   * moment (the round before its last response changed), null until that was seen once.
   */
  | { state: 'connected'; at: number; answeredAfter: number | null; timeoutMs: number | null }
  /** No server holds a connection for it, or one it has not answered for its timeout: since when. */
  | { state: 'absent'; since: number };

interface SessionRecord {
  lastResponse: number | null;
  answeredAfter: number | null;
  timeoutMs: number | null;
  absentSince: number | null;
}

/**
 * Asks every server `srvr`, `mntr` and `cons` every `pollMs`, keeps the picture for the panel
 * (`servers()`) and what `cons` says of each session (`sighting()`). Emits `change` after each
 * round. The timer is owned: `close()` clears it.
 */
export class EnsembleMonitor extends EventEmitter<{ change: [] }> {
  private readonly addresses: readonly ConnectServer[];
  private readonly pollMs: number;
  private readonly answerTimeoutMs: number;
  private readonly now: () => number;
  private readonly ask: AskServer;
  private views: ServerView[];
  private readonly sessions = new Map<string, SessionRecord>();
  /** When a round last had every server's `cons`, and the first such round. */
  private completeAt: number | null = null;
  private firstCompleteAt: number | null = null;
  /** The last complete round before this one (`answeredAfter` is one). */
  private lastRoundAt: number | null = null;
  /** Why the last round's `cons` is not complete, or null. */
  private incomplete: string | null = 'no round yet';
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private closed = false;

  constructor(options: EnsembleMonitorOptions) {
    super();
    this.addresses = options.servers;
    this.pollMs = validateMs(options.pollMs, 'pollMs', 1000, 'positive');
    this.answerTimeoutMs = validateMs(options.answerTimeoutMs, 'answerTimeoutMs', 1000, 'positive');
    this.now = options.now ?? Date.now;
    this.ask = options.ask ?? ((host, port, word) => fourLetterWord(host, port, word, this.answerTimeoutMs));
    this.views = this.addresses.map((server) => emptyView(`${server.host}:${server.port}`));
  }

  /** Asks once now, then every `pollMs`. */
  start(): void {
    if (this.timer || this.closed) return;
    const tick = () => {
      void this.poll().finally(() => {
        if (!this.closed) this.timer = setTimeout(tick, this.pollMs);
      });
    };
    tick();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.removeAllListeners();
  }

  get intervalMs(): number {
    return this.pollMs;
  }

  /** The panel's rows, one per server of the connect string. */
  servers(): ServerView[] {
    return this.views;
  }

  /** One round: every server, all three words. A round already under way is joined, not doubled. */
  poll(): Promise<void> {
    this.round ??= this.askAll().finally(() => (this.round = null));
    return this.round;
  }

  /** A round that starts after now: the answers describe the servers after this moment. */
  async pollAfterNow(): Promise<void> {
    if (this.round) await this.round;
    await this.poll();
  }

  /** What the latest complete rounds of `cons` say of `sessionId`. */
  sighting(sessionId: string): SessionSighting {
    if (this.incomplete !== null || this.completeAt === null) return { state: 'unknown', why: this.incomplete ?? 'no round yet' };
    const record = this.sessions.get(sessionId);
    if (!record) return { state: 'absent', since: this.firstCompleteAt! };
    if (record.absentSince !== null) return { state: 'absent', since: record.absentSince };
    return { state: 'connected', at: this.completeAt, answeredAfter: record.answeredAfter, timeoutMs: record.timeoutMs };
  }

  private async askAll(): Promise<void> {
    const startedAt = this.now();
    const answers = await Promise.all(this.addresses.map((server) => this.askServer(server, startedAt)));
    if (this.closed) return;
    this.views = answers.map((answer) => answer.view);
    const missing = answers.filter((answer) => answer.connections === null);
    if (missing.length > 0) {
      this.incomplete = missing
        .map((answer) => `${answer.view.address} ${answer.view.words.cons === 'not-allowed' ? 'does not allow cons' : 'did not answer cons'}`)
        .join('; ');
    } else {
      this.incomplete = null;
      this.firstCompleteAt ??= startedAt;
      this.completeAt = startedAt;
      this.noteSessions(
        answers.flatMap((answer) => answer.connections ?? []),
        startedAt,
      );
    }
    this.emit('change');
  }

  private async askServer(server: ConnectServer, at: number): Promise<{ view: ServerView; connections: ServerConnection[] | null }> {
    const address = `${server.host}:${server.port}`;
    const [srvr, mntr, cons] = await Promise.all(['srvr', 'mntr', 'cons'].map((word) => this.ask(server.host, server.port, word)));
    const state = (reply: string | null | undefined): FourLetterWordState => (reply == null ? 'no-answer' : notAllowed(reply) ? 'not-allowed' : 'ok');
    const words = { srvr: state(srvr), mntr: state(mntr), cons: state(cons) };
    const view: ServerView = { ...emptyView(address), checkedAt: at, words };
    if (words.srvr === 'ok') Object.assign(view, parseSrvr(srvr!));
    if (words.mntr === 'ok') {
      const values = parseMntr(mntr!);
      const number = (key: string) => (values.has(key) && Number.isFinite(Number(values.get(key))) ? Number(values.get(key)) : null);
      view.mode ??= values.get('zk_server_state') ?? null;
      view.version ??= values.get('zk_version')?.match(/^[0-9][^-,\s]*/)?.[0] ?? null;
      view.outstanding ??= number('zk_outstanding_requests');
      view.connections ??= number('zk_num_alive_connections');
      view.nodeCount ??= number('zk_znode_count');
      const [min, avg, max] = ['zk_min_latency', 'zk_avg_latency', 'zk_max_latency'].map(number);
      if (!view.latencyMs && min != null && avg != null && max != null) view.latencyMs = { min, avg, max };
      view.followers = number('zk_synced_followers');
    }
    view.problem = problem(words);
    return { view, connections: words.cons === 'ok' ? parseCons(cons!) : null };
  }

  private noteSessions(connections: ServerConnection[], at: number): void {
    const previousRound = this.lastRoundAt;
    this.lastRoundAt = at;
    const present = new Set<string>();
    for (const connection of connections) {
      if (!connection.sessionId) continue;
      let record = this.sessions.get(connection.sessionId);
      if (!record) {
        record = { lastResponse: connection.lastResponse, answeredAfter: null, timeoutMs: connection.timeoutMs, absentSince: null };
        this.sessions.set(connection.sessionId, record);
      } else if (connection.lastResponse === null || record.lastResponse !== connection.lastResponse) {
        // Its last response moved on since the last round: the server answered it after that
        // round. (lresp is the server's own clock, so it is only compared with itself; without
        // it, an older server's listing counts as an answer.)
        record.lastResponse = connection.lastResponse;
        record.answeredAfter = previousRound;
        record.timeoutMs = connection.timeoutMs;
      }
      // A partitioned client's connection stays listed until its session expires: one the
      // server has not answered for its timeout is not counted as connected.
      const silent = record.answeredAfter !== null && record.timeoutMs !== null && at - record.answeredAfter > record.timeoutMs;
      if (!silent) {
        present.add(connection.sessionId);
        record.absentSince = null;
      }
    }
    for (const [sessionId, record] of this.sessions) {
      if (present.has(sessionId)) continue;
      record.absentSince ??= at;
      // Gone for ten minutes: nothing asks about it any more.
      if (at - record.absentSince > 600_000) this.sessions.delete(sessionId);
    }
  }
}

function emptyView(address: string): ServerView {
  return {
    address,
    checkedAt: null,
    words: { srvr: 'no-answer', mntr: 'no-answer', cons: 'no-answer' },
    version: null,
    mode: null,
    latencyMs: null,
    outstanding: null,
    connections: null,
    nodeCount: null,
    zxid: null,
    followers: null,
    problem: null,
  };
}

/** What the panel says when a server does not tell everything. */
function problem(words: ServerView['words']): string | null {
  if (words.srvr === 'no-answer' && words.mntr === 'no-answer' && words.cons === 'no-answer')
    return 'no answer: the server is down or unreachable from the dashboard';
  const refused = (Object.keys(words) as (keyof typeof words)[]).filter((word) => words[word] === 'not-allowed');
  if (refused.length > 0)
    return `the server does not allow the four-letter word${refused.length > 1 ? 's' : ''} ${refused.join(', ')} (4lw.commands.whitelist)`;
  const silent = (Object.keys(words) as (keyof typeof words)[]).filter((word) => words[word] === 'no-answer');
  return silent.length > 0 ? `no answer to ${silent.join(', ')}` : null;
}
