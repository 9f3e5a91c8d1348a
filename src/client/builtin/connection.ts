import { EventEmitter } from 'eventemitter3';
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as tlsConnect } from 'node:tls';
import { frame, FrameDecoder } from './framing.js';
import { DigestMd5Client, DigestMd5Error, zooKeeperDigestUri } from './sasl-digest.js';
import type { SaslOption, TlsOption } from '../types.js';
import { describeTlsFailure, isTlsError, plaintextOnTlsPort, speaksTls, tlsOptionsFor } from './tls.js';
import {
  type ConnectRequest,
  type ConnectResponse,
  JuteReader,
  JuteWriter,
  OpCode,
  readConnectResponse,
  readReplyHeader,
  readSetSaslResponse,
  readWatcherEvent,
  type ReplyHeader,
  requestPacket,
  type WatcherEvent,
  writeConnectRequest,
  writeGetSaslRequest,
  Xid,
} from './records.js';

/** How far a connection got: TCP (and TLS), the session handshake, the SASL login, open. */
export type ConnectionPhase = 'dial' | 'handshake' | 'authenticating' | 'open';

/**
 * Why a connection ended. `lost`: the socket or the stream failed (the session may be alive:
 * dial again); `tls-failed`: the TLS handshake failed, or TLS and plaintext met (`reason`
 * says which and what to change); `expired`: the server refused the session; `auth-failed`:
 * it refused our credentials, or requires a SASL login we did not make, and closed the
 * connection; `closed`: we ended it.
 */
export type ConnectionEnd =
  | { kind: 'lost'; reason: string; phase: ConnectionPhase }
  | { kind: 'tls-failed'; reason: string }
  | { kind: 'expired' }
  | { kind: 'auth-failed'; reason: string }
  | { kind: 'closed' };

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
  /** TLS to the server's secureClientPort; plaintext when undefined. */
  tls?: TlsOption;
  /** A SASL login after the handshake; the connection opens only once it succeeded. */
  sasl?: SaslOption;
  /** The next normal xid, for the SASL packets (they are matched in order like any request). */
  nextXid: () => number;
  /** Called just before the handshake is written, for `handshakeSentAt`. */
  onHandshakeSent?: () => void;
}

interface ConnectionEvents {
  /** The server accepted the handshake: the session exists (a SASL login may follow). */
  accepted: [response: ConnectResponse];
  /** The connection is ready for requests: handshake accepted, SASL login (if any) done. */
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

/** SESSIONCLOSEDREQUIRESASLAUTH: the server requires a SASL login and closes the connection. */
const sessionClosedRequiresSaslAuth = -124;

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
  private phase: ConnectionPhase | 'ended' = 'dial';
  /** Whether TCP connected (for TLS: the handshake may still fail after it). */
  private tcpConnected = false;
  private bytesReceived = 0;
  /** The SASL login in progress and the xid of its packet in flight. */
  private login: DigestMd5Client | undefined;
  private saslXid = 0;
  private accepted: ConnectResponse | undefined;
  /** A check whether the port speaks TLS, after it dropped our plaintext handshake. */
  private probe: { cancel: () => void } | undefined;
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
    const { host, port, tls } = options;
    this.socket = tls ? tlsConnect(tlsOptionsFor(tls, host, port)) : netConnect({ host, port });
    this.socket.setNoDelay(true);
    this.timer = setTimeout(() => this.connectTimedOut(), options.connectTimeoutMs);
    this.socket.on('connect', () => {
      this.tcpConnected = true;
    });
    // Over TLS the session handshake waits for the TLS one, and the server's certificate checks.
    this.socket.on(tls ? 'secureConnect' : 'connect', () => this.sendHandshake());
    this.socket.on('data', (chunk: Buffer) => this.received(chunk));
    // 'error' is always followed by 'close'; the error says why, so it is kept for the reason.
    let error: NodeJS.ErrnoException | undefined;
    this.socket.on('error', (socketError: NodeJS.ErrnoException) => {
      error ??= socketError;
    });
    this.socket.on('close', () => this.socketClosed(error));
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

  private lostPhase(): ConnectionPhase {
    return this.phase === 'ended' ? 'open' : this.phase;
  }

  /** Whether the TLS handshake is what failed: before the session handshake was answered. */
  private tlsFailed(error: NodeJS.ErrnoException | undefined): boolean {
    if (!this.options.tls || (this.phase !== 'dial' && this.phase !== 'handshake')) return false;
    // TCP connected and TLS never completed: a close or reset then is the TLS handshake's.
    if (this.phase === 'dial') return this.tcpConnected || (error !== undefined && isTlsError(error));
    // TLS 1.3 reports a refused client certificate after the handshake, as an alert.
    return error !== undefined && isTlsError(error);
  }

  private socketClosed(error: NodeJS.ErrnoException | undefined): void {
    if (!this.isLive()) return;
    const { host, port, tls } = this.options;
    if (tls && this.tlsFailed(error)) return this.end({ kind: 'tls-failed', reason: describeTlsFailure(error, host, port, tls) });
    // A secureClientPort closes on a plaintext handshake without a byte; so does a server
    // that is not serving yet. Only a TLS hello tells them apart, so one is tried, for a new
    // session only: a reconnect's port answered in plaintext before, and the probe (a few
    // hundred milliseconds from a starting server) would hold up every session's next attempt
    // after a server restart.
    const newSession = this.options.handshake.sessionId === 0n;
    if (!tls && newSession && this.phase === 'handshake' && this.bytesReceived === 0 && (error === undefined || error.code === 'ECONNRESET')) {
      clearTimeout(this.timer);
      this.timer = undefined;
      const probe = speaksTls(host, port, Math.min(1000, this.options.connectTimeoutMs));
      this.probe = probe;
      void probe.result.then((tlsPort) => {
        this.probe = undefined;
        if (!this.isLive()) return;
        if (tlsPort) this.end({ kind: 'tls-failed', reason: plaintextOnTlsPort(host, port) });
        else this.end({ kind: 'lost', reason: 'the server closed the connection before answering the handshake', phase: 'handshake' });
      });
      return;
    }
    const reason = error ? describeSocketError(error, host, port) : 'the server closed the connection';
    this.end({ kind: 'lost', reason, phase: this.lostPhase() });
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
    const server = `${this.options.host}:${this.options.port}`;
    const reason =
      this.phase === 'dial'
        ? this.tcpConnected
          ? `${server} accepted the TCP connection but did not complete the TLS handshake within ${waited} ms`
          : `no TCP connection to ${server} within ${waited} ms`
        : this.phase === 'authenticating'
          ? `${server} did not complete the SASL login within ${waited} ms`
          : `${server} accepted the connection but did not answer the handshake within ${waited} ms`;
    this.end({ kind: 'lost', reason, phase: this.lostPhase() });
  }

  private received(chunk: Buffer): void {
    if (this.phase === 'ended') return;
    this.bytesReceived += chunk.length;
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
    if (this.phase === 'authenticating') return this.saslAnswered(header, reader);
    if (header.xid === Xid.notification) {
      this.emit('notification', readWatcherEvent(reader));
      return;
    }
    if (header.xid === Xid.ping) return;
    if (header.xid === Xid.auth) {
      // The server closes the connection after refusing auth; we end it first, as a refusal.
      if (header.err !== 0) this.end({ kind: 'auth-failed', reason: `${this.server()} refused the digest credentials (AUTHFAILED): check the auth option` });
      return;
    }
    const request = this.pending.shift();
    if (!request || request.xid !== header.xid) {
      if (request) this.pending.unshift(request);
      const expected = request ? `xid ${request.xid}` : 'no reply';
      this.end({ kind: 'lost', reason: `the server answered xid ${header.xid} where ${expected} was due (out of order)`, phase: 'open' });
      return;
    }
    if (header.err === sessionClosedRequiresSaslAuth) {
      // The server closes the connection after this answer, and would after every other
      // request on every new connection: a refusal of the credentials, not a loss to retry.
      this.pending.unshift(request);
      this.end({
        kind: 'auth-failed',
        reason: `${this.server()} requires a SASL login (SESSIONCLOSEDREQUIRESASLAUTH) and closed the connection: pass sasl: { username, password }`,
      });
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

  private server(): string {
    return `${this.options.host}:${this.options.port}`;
  }

  private handshakeAnswered(response: ConnectResponse): void {
    if (response.timeOut <= 0) return this.end({ kind: 'expired' });
    this.accepted = response;
    this.emit('accepted', response);
    if (!this.isLive()) return;
    const sasl = this.options.sasl;
    if (!sasl) return this.opened(response);
    // ClientCnxn holds back everything (auth packets, setWatches, requests) until SASL is done.
    this.phase = 'authenticating';
    this.login = new DigestMd5Client({ username: sasl.username, password: sasl.password, digestUri: zooKeeperDigestUri });
    this.sendSasl(this.login.initial());
  }

  private sendSasl(token: Buffer): void {
    this.saslXid = this.options.nextXid();
    this.write(requestPacket(this.saslXid, OpCode.sasl, (writer) => writeGetSaslRequest(writer, token)));
  }

  private saslAnswered(header: ReplyHeader, reader: JuteReader): void {
    const username = this.options.sasl!.username;
    const refused = (why: string) => this.end({ kind: 'auth-failed', reason: `SASL login to ${this.server()} as '${username}' failed: ${why}` });
    if (header.xid !== this.saslXid) {
      this.end({ kind: 'lost', reason: `the server answered xid ${header.xid} during the SASL login (xid ${this.saslXid})`, phase: 'authenticating' });
      return;
    }
    // Refused: the server replies AUTHFAILED (SESSIONCLOSEDREQUIRESASLAUTH when SASL is required) and closes.
    if (header.err !== 0) return refused(`the server refused the user name or password (err ${header.err}); check sasl.username/password`);
    const token = readSetSaslResponse(reader);
    if (token === null) return refused('the server ended the login without a token: it has no SASL login configured (no JAAS Server section)');
    let next: Buffer | null;
    try {
      next = this.login!.evaluate(token);
    } catch (error) {
      if (error instanceof DigestMd5Error) return refused(`${error.message}; check sasl.username/password`);
      throw error;
    }
    if (next === null) return this.opened(this.accepted!);
    this.sendSasl(next);
  }

  private opened(response: ConnectResponse): void {
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
    this.probe?.cancel();
    this.probe = undefined;
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
