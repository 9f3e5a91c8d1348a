/**
 * ZooKeeper's framing: every packet is a 4-byte big-endian length, then that many bytes.
 * TCP delivers them in arbitrary pieces, so the decoder keeps what it has until a frame is
 * whole; a length over the limit (or negative) means the stream is garbage or hostile, and
 * the connection must go (as in Java's `ClientCnxnSocket.readLength`).
 */

/** An incoming length the decoder refuses: the connection is lost, not the process. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Prefixes `payload` with its length. */
export function frame(payload: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(4 + payload.length);
  framed.writeInt32BE(payload.length, 0);
  payload.copy(framed, 4);
  return framed;
}

/** Cuts a byte stream into frames; one decoder per connection. */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  /** @param maxFrameBytes the largest payload accepted (the length prefix not counted). */
  constructor(private readonly maxFrameBytes: number) {}

  /**
   * Takes the next piece of the stream and returns the frames it completes, in order.
   * @throws FrameError on a length that is negative or over the limit.
   */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const length = this.peekLength();
      if (length < 0 || length > this.maxFrameBytes) {
        throw new FrameError(`the server sent a frame of ${length} bytes, over the limit of ${this.maxFrameBytes}`);
      }
      if (this.buffered < 4 + length) break;
      // Joined only once the frame is whole: a large reply in many pieces is copied once.
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      frames.push(all.subarray(4, 4 + length));
      const rest = all.subarray(4 + length);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    return frames;
  }

  /** Bytes of an incomplete frame held back. */
  pendingBytes(): number {
    return this.buffered;
  }

  private peekLength(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, this.buffered).subarray(0, 4);
    return head.readInt32BE(0);
  }
}
