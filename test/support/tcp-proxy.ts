import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 between a client and one ZooKeeper server, for partitions:
 * `blackhole()` silently drops traffic in both directions (no RST, sockets stay open, as a
 * dead network would), `dropReplies()` only server-to-client, `holdReplies()` keeps
 * server-to-client bytes back until `heal()` delivers them as one chunk (so that a reply and a
 * notification reach the client in the same read), `heal()` forwards again,
 * `resetConnections()` closes every open connection, `cutMidReply()` lets half of the next
 * server-to-client chunk through and then closes the connection (a reply torn by the network).
 * `requestOpcodes` records the opcode of every request a client sent (the handshake excepted),
 * in order, so a test can tell what a reconnect re-sent (setWatches 101, setWatches2 105);
 * `droppedRequestOpcodes` those of the requests it dropped. `connections` counts the
 * connections clients made, `clientCloses` those a client closed (not the proxy, not the
 * server): a test can wait for a client to dial, or to give a silent connection up.
 */
export class TcpProxy {
  private server: Server | null = null;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private mode: 'forward' | 'blackhole' | 'drop-replies' | 'hold-replies' | 'cut-mid-reply' = 'forward';
  /** Server-to-client chunks still to forward before `holdReplies` takes effect. */
  private forwardBeforeHold = 0;
  private readonly heldReplies = new Map<Socket, Buffer[]>();
  /** Client-to-server bytes are dropped (with `holdReplies`: a server that heard us last a while ago). */
  private droppingRequests = false;
  /** The opcode of each request clients sent through this proxy, in order (not the handshakes). */
  readonly requestOpcodes: number[] = [];
  /** The opcode of each request the proxy dropped (blackhole, dropRequests), in order. */
  readonly droppedRequestOpcodes: number[] = [];
  /** Connections clients made to the proxy. */
  connections = 0;
  /** Connections a client closed (or reset) itself. */
  clientCloses = 0;
  /** Client sockets the proxy closes itself (reset, close, the server's end). */
  private readonly closedByProxy = new WeakSet<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  static async to(hostPort: string): Promise<TcpProxy> {
    const [host = '127.0.0.1', port = '2181'] = hostPort.split(',')[0]!.split(':');
    const proxy = new TcpProxy(host, Number(port));
    await proxy.listen();
    return proxy;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  private listen(): Promise<void> {
    return new Promise((resolve) => {
      this.server = createServer((client) => {
        this.connections += 1;
        client.on('close', () => {
          if (!this.closedByProxy.has(client)) this.clientCloses += 1;
        });
        if (this.mode === 'blackhole') {
          // A new connection into a dead network: accepted, never answered.
          client.on('error', () => {});
          client.on('data', () => {});
          this.pairs.add({ client, upstream: client });
          return;
        }
        const upstream = connect(this.targetPort, this.targetHost);
        // Forward each chunk at once: Nagle's delay on this extra hop is not the client's.
        client.setNoDelay(true);
        upstream.setNoDelay(true);
        const pair = { client, upstream };
        this.pairs.add(pair);
        const dropping = () => this.mode === 'blackhole' || this.droppingRequests;
        const frames = new RequestFrames((opcode) => (dropping() ? this.droppedRequestOpcodes : this.requestOpcodes).push(opcode));
        client.on('data', (chunk) => {
          frames.push(chunk);
          if (!dropping()) upstream.write(chunk);
        });
        upstream.on('data', (chunk) => {
          if (this.mode === 'hold-replies' && this.forwardBeforeHold > 0) {
            this.forwardBeforeHold -= 1;
            client.write(chunk);
          } else if (this.mode === 'forward') client.write(chunk);
          else if (this.mode === 'hold-replies') this.heldReplies.set(client, [...(this.heldReplies.get(client) ?? []), chunk]);
          else if (this.mode === 'cut-mid-reply') {
            this.mode = 'forward';
            client.write(chunk.subarray(0, Math.max(1, chunk.length >> 1)), () => this.resetConnections());
          }
        });
        const close = () => {
          this.pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        };
        // The server's end (or an error upstream) closes the client's connection: not the client's doing.
        const closeFromUpstream = () => {
          if (!client.destroyed) this.closedByProxy.add(client);
          close();
        };
        client.on('close', close);
        upstream.on('close', closeFromUpstream);
        client.on('error', close);
        upstream.on('error', closeFromUpstream);
      });
      this.server.listen(0, '127.0.0.1', () => {
        const address = this.server!.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        resolve();
      });
    });
  }

  blackhole(): void {
    this.mode = 'blackhole';
  }
  dropReplies(): void {
    this.mode = 'drop-replies';
  }
  /** Holds server-to-client bytes back; `afterChunks` chunks (a notification, say) still pass first. */
  holdReplies(afterChunks = 0): void {
    this.forwardBeforeHold = afterChunks;
    this.mode = 'hold-replies';
  }
  /** From now on the client's bytes are dropped too: the server stops hearing from it. */
  dropRequests(): void {
    this.droppingRequests = true;
  }
  /** Delivers what `holdReplies()` kept back, late, and drops everything after: a partition. */
  releaseHeldRepliesIntoBlackhole(): void {
    for (const [client, chunks] of this.heldReplies) client.write(Buffer.concat(chunks));
    this.heldReplies.clear();
    this.mode = 'blackhole';
  }
  /** How many bytes `holdReplies()` is keeping back right now. */
  get heldReplyBytes(): number {
    return [...this.heldReplies.values()].flat().reduce((total, chunk) => total + chunk.length, 0);
  }
  heal(): void {
    for (const [client, chunks] of this.heldReplies) client.write(Buffer.concat(chunks));
    this.heldReplies.clear();
    this.droppingRequests = false;
    this.mode = 'forward';
  }
  /** The next reply reaches the client only in part, then the connection closes; new ones work. */
  cutMidReply(): void {
    this.mode = 'cut-mid-reply';
  }
  resetConnections(): void {
    for (const { client, upstream } of this.pairs) {
      this.closedByProxy.add(client);
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.resetConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * Cuts one connection's client-to-server bytes into ZooKeeper frames (a 4-byte length, then
 * the packet): the first is the bare ConnectRequest, every later one starts with the
 * RequestHeader (int xid, int type), whose type is reported.
 */
class RequestFrames {
  private pending = Buffer.alloc(0);
  private handshake = true;

  constructor(private readonly onRequest: (opcode: number) => void) {}

  push(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readInt32BE(0)) {
      const length = this.pending.readInt32BE(0);
      const frame = this.pending.subarray(4, 4 + length);
      this.pending = this.pending.subarray(4 + length);
      if (this.handshake) this.handshake = false;
      else if (frame.length >= 8) this.onRequest(frame.readInt32BE(4));
    }
  }
}
