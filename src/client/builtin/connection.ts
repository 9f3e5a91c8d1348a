import { EventEmitter } from 'eventemitter3';
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { frame, FrameDecoder } from './framing.js';
import {
  type ConnectRequest,
  type ConnectResponse,
  JuteReader,
  JuteWriter,
  OpCode,
  readConnectResponse,
  readReplyHeader,
  readWatcherEvent,
  type ReplyHeader,
  requestPacket,
  type WatcherEvent,
  writeConnectRequest,
  Xid,
} from './records.js';

/**
 * Why a connection ended. `lost`: the socket or the stream failed (the session may be alive:
 * dial again); `expired`: the server refused the session; `auth-failed`: it refused our
 * credentials and closed the connection; `closed`: we ended it.
 */
export type ConnectionEnd =
  { kind: 'lost'; reason: string; phase: 'dial' | 'handshake' | 'open' } | { kind: 'expired' } | { kind: 'auth-failed' } | { kind: 'closed' };

/** A request sent on this connection and not answered yet. */
export interface PendingRequest {
  readonly xid: number;
  /** The reply arrived: its header and a reader positioned at its body. */
  replied(header: ReplyHeader, body: JuteReader): void;
  /** The connection ended before the reply came. */
  ended(end: ConnectionEnd): void;
}

export interface ConnectionOptions {
  host: string;
  port: number;
  /** What to say in the handshake: a new session (id 0) or the one to re-attach to. */
  handshake: ConnectRequest;
  /** How long the TCP connect and the handshake may take together. */
  connectTimeoutMs: number;
  /** The largest incoming frame accepted; a larger length is a connection loss. */
  maxFrameBytes: number;
  /** Called just before the handshake is written, for `handshakeSentAt`. */
  onHandshakeSent?: () => void;
}

interface ConnectionEvents {
  /** The server accepted the handshake. */
  open: [response: ConnectResponse];
  /** A watch notification (xid -1). */
  notification: [event: WatcherEvent];
  /** A reply carried a zxid newer than any seen (not pings, notifications or auth replies). */
  zxid: [zxid: bigint];
  /** A reply was matched: there is room for one more outstanding request. */
  replied: [];
  /** The connection is over; every pending request has been told first. */
  ended: [end: ConnectionEnd];
}

/** Java's rule (ClientCnxn): ping at least this often even when the read timeout is long. */
const maxPingIntervalMs = 10_000;

/**
 * One socket to one server, from the TCP connect to its end: the handshake, requests matched
 * to replies by xid in the order they were sent, pings on idle, and a read timeout. Every
 * failure (a socket error, a silent server, a frame over the limit, a reply out of order, a
 * body that does not parse) ends it as `lost` with a reason; nothing here throws to a timer
 * or a socket handler. Reconnecting is the owner's business: a connection is used once.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private phase: 'dial' | 'handshake' | 'open' | 'ended' = 'dial';
  private readonly pending: PendingRequest[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readTimeoutMs = 0;
  private lastSendAt = 0;
  private lastReceiveAt = 0;
  private corked = false;
  private readonly dialedAt = performance.now();

  constructor(private readonly options: ConnectionOptions) {
    super();
    this.decoder = new FrameDecoder(options.maxFrameBytes);
    this.socket = netConnect({ host: options.host, port: options.port });
    this.socket.setNoDelay(true);
    this.timer = setTimeout(() => this.connectTimedOut(), options.connectTimeoutMs);
    this.socket.on('connect', () => this.sendHandshake());
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    // 'error' is always followed by 'close'; the error says why, so it is kept for the reason.
    let failure: string | undefined;
    this.socket.on('error', (error: NodeJS.ErrnoException) => {
      failure = describeSocketError(error, options.host, options.port);
    });
    this.socket.on('close', () => this.end({ kind: 'lost', reason: failure ?? 'the server closed the connection', phase: this.lostPhase() }));
  }

  /** Requests sent and not answered yet. */
  get outstanding(): number {
    return this.pending.length;
  }

  /** Whether the handshake was accepted and the connection has not ended. */
  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Sends a request whose reply is matched in order; `request.xid` must be a normal xid. */
  send(request: PendingRequest, packet: Buffer): void {
    if (this.phase !== 'open') {
      request.ended({ kind: 'lost', reason: 'the connection is not open', phase: this.lostPhase() });
      return;
    }
    this.pending.push(request);
    this.write(packet);
  }

  /** Sends a packet no reply is matched to in order (auth, xid -4): the reply comes as an event or an end. */
  sendUntracked(packet: Buffer): void {
    if (this.phase === 'open') this.write(packet);
  }

  /** Ends the connection: pending requests are told, the socket is destroyed. */
  close(end: ConnectionEnd = { kind: 'closed' }): void {
    this.end(end);
  }

  private isLive(): boolean {
    return this.phase !== 'ended';
  }

  private lostPhase(): 'dial' | 'handshake' | 'open' {
    return this.phase === 'ended' ? 'open' : this.phase;
  }

  private write(packet: Buffer): void {
    this.lastSendAt = performance.now();
    // Requests made in one turn of the event loop leave in as few segments as possible.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame(packet));
  }

  private sendHandshake(): void {
    if (this.phase !== 'dial') return;
    this.phase = 'handshake';
    this.options.onHandshakeSent?.();
    this.write(writeConnectRequest(new JuteWriter(64), this.options.handshake).bytes());
  }

  private connectTimedOut(): void {
    const waited = Math.round(performance.now() - this.dialedAt);
    const reason =
      this.phase === 'dial'
        ? `no TCP connection to ${this.options.host}:${this.options.port} within ${waited} ms`
        : `${this.options.host}:${this.options.port} accepted the connection but did not answer the handshake within ${waited} ms`;
    this.end({ kind: 'lost', reason, phase: this.lostPhase() });
  }

  private received(chunk: Buffer): void {
    if (this.phase === 'ended') return;
    this.lastReceiveAt = performance.now();
    try {
      for (const payload of this.decoder.push(chunk)) {
        this.handleFrame(payload);
        // A frame can end the connection (auth refused, out of order): the rest is not read.
        if (!this.isLive()) return;
      }
    } catch (error) {
      this.end({ kind: 'lost', reason: `the server's reply did not parse: ${(error as Error).message}`, phase: this.lostPhase() });
    }
  }

  private handleFrame(payload: Buffer): void {
    const reader = new JuteReader(payload);
    if (this.phase === 'handshake') return this.handshakeAnswered(readConnectResponse(reader));
    const header = readReplyHeader(reader);
    if (header.xid === Xid.notification) {
      this.emit('notification', readWatcherEvent(reader));
      return;
    }
    if (header.xid === Xid.ping) return;
    if (header.xid === Xid.auth) {
      // The server closes the connection after refusing auth; we end it first, as a refusal.
      if (header.err !== 0) this.end({ kind: 'auth-failed' });
      return;
    }
    const request = this.pending.shift();
    if (!request || request.xid !== header.xid) {
      if (request) this.pending.unshift(request);
      const expected = request ? `xid ${request.xid}` : 'no reply';
      this.end({ kind: 'lost', reason: `the server answered xid ${header.xid} where ${expected} was due (out of order)`, phase: 'open' });
      return;
    }
    if (header.zxid > 0n) this.emit('zxid', header.zxid);
    try {
      request.replied(header, reader);
    } catch (error) {
      // A body that does not parse: this request learns the connection is gone, like the rest.
      request.ended({ kind: 'lost', reason: `the reply to xid ${header.xid} did not parse`, phase: 'open' });
      throw error;
    }
    this.emit('replied');
  }

  private handshakeAnswered(response: ConnectResponse): void {
    if (response.timeOut <= 0) return this.end({ kind: 'expired' });
    this.phase = 'open';
    clearTimeout(this.timer);
    this.timer = undefined;
    // ClientCnxn: the read timeout is 2/3 of the negotiated session timeout, so silence is
    // noticed with a third of the session left to find another server.
    this.readTimeoutMs = Math.floor((response.timeOut * 2) / 3);
    this.armLiveness();
    this.emit('open', response);
  }

  private pingIntervalMs(): number {
    return Math.min(this.readTimeoutMs / 2, maxPingIntervalMs);
  }

  /** One timer for both duties: the next ping and the read timeout, whichever comes first. */
  private armLiveness(): void {
    const next = Math.min(this.lastReceiveAt + this.readTimeoutMs, this.lastSendAt + this.pingIntervalMs());
    this.timer = setTimeout(() => this.livenessDue(), Math.max(1, next - performance.now()));
  }

  private livenessDue(): void {
    this.timer = undefined;
    if (this.phase !== 'open') return;
    const now = performance.now();
    const silentMs = now - this.lastReceiveAt;
    if (silentMs >= this.readTimeoutMs) {
      this.end({
        kind: 'lost',
        reason: `nothing heard from ${this.options.host}:${this.options.port} for ${Math.round(silentMs)} ms (read timeout ${this.readTimeoutMs} ms)`,
        phase: 'open',
      });
      return;
    }
    if (now - this.lastSendAt >= this.pingIntervalMs()) this.write(requestPacket(Xid.ping, OpCode.ping));
    this.armLiveness();
  }

  private end(end: ConnectionEnd): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.destroy();
    const pending = this.pending.splice(0);
    for (const request of pending) request.ended(end);
    this.emit('ended', end);
  }
}

function describeSocketError(error: NodeJS.ErrnoException, host: string, port: number): string {
  const server = `${host}:${port}`;
  switch (error.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the name ${host} does not resolve`;
    case 'ECONNREFUSED':
      return `${server} refused the connection (nothing listens there)`;
    case 'ECONNRESET':
      return `${server} reset the connection`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${server} is unreachable`;
    default:
      return `${server}: ${error.message}`;
  }
}
