/**
 * Jute's binary encoding, as ZooKeeper's `BinaryOutputArchive`/`BinaryInputArchive` write and
 * read it: big-endian numbers, length-prefixed buffers and strings where -1 means null,
 * vectors as a count and their elements, records as their fields in order with nothing
 * around them. Pure: no I/O, no state beyond the buffer being written or read.
 */

/** A frame that does not hold what its record says it holds: the connection is unusable. */
export class JuteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JuteError';
  }
}

/** Writes jute values into a buffer that grows as needed. */
export class JuteWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialBytes = 256) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /** An `int`: 4 bytes, big-endian two's complement. */
  int(value: number): this {
    this.room(4);
    this.buffer.writeInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  /** A `long`: 8 bytes, big-endian two's complement. */
  long(value: bigint): this {
    this.room(8);
    this.buffer.writeBigInt64BE(BigInt.asIntN(64, value), this.length);
    this.length += 8;
    return this;
  }

  /** A `boolean`: one byte, 0 or 1. */
  boolean(value: boolean): this {
    this.room(1);
    this.buffer[this.length] = value ? 1 : 0;
    this.length += 1;
    return this;
  }

  /** A `buffer`: its length, then its bytes; null is length -1. */
  buffer_(value: Buffer | null): this {
    if (value === null) return this.int(-1);
    this.int(value.length);
    this.room(value.length);
    value.copy(this.buffer, this.length);
    this.length += value.length;
    return this;
  }

  /** A `ustring`: its UTF-8 byte length, then the bytes; null is length -1. */
  string(value: string | null): this {
    return this.buffer_(value === null ? null : Buffer.from(value, 'utf8'));
  }

  /** A `vector<T>`: the count, then each element; null is count -1. */
  vector<T>(values: readonly T[] | null, element: (writer: this, value: T) => void): this {
    if (values === null) return this.int(-1);
    this.int(values.length);
    for (const value of values) element(this, value);
    return this;
  }

  /** What was written, as a fresh view (the writer may be reused). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Reads jute values from one frame; reading past its end is a `JuteError`, never a garbage value. */
export class JuteReader {
  private offset: number;

  constructor(
    private readonly buffer: Buffer,
    offset = 0,
  ) {
    this.offset = offset;
  }

  private take(bytes: number, what: string): number {
    if (bytes < 0 || this.offset + bytes > this.buffer.length) {
      throw new JuteError(`truncated record: ${what} needs ${bytes} bytes at offset ${this.offset}, the frame has ${this.buffer.length}`);
    }
    const at = this.offset;
    this.offset += bytes;
    return at;
  }

  int(): number {
    return this.buffer.readInt32BE(this.take(4, 'an int'));
  }

  long(): bigint {
    return this.buffer.readBigInt64BE(this.take(8, 'a long'));
  }

  /** Any non-zero byte is true, as Java's `DataInput.readBoolean` reads it. */
  boolean(): boolean {
    return this.buffer[this.take(1, 'a boolean')] !== 0;
  }

  buffer_(): Buffer | null {
    const length = this.int();
    if (length === -1) return null;
    if (length < 0) throw new JuteError(`bad buffer length ${length}`);
    const at = this.take(length, 'a buffer');
    // A copy: the frame's memory is not kept alive by a value the caller holds on to.
    return Buffer.from(this.buffer.subarray(at, at + length));
  }

  string(): string | null {
    const length = this.int();
    if (length === -1) return null;
    if (length < 0) throw new JuteError(`bad string length ${length}`);
    const at = this.take(length, 'a string');
    return this.buffer.toString('utf8', at, at + length);
  }

  vector<T>(element: (reader: this) => T): T[] | null {
    const count = this.int();
    if (count === -1) return null;
    if (count < 0) throw new JuteError(`bad vector count ${count}`);
    // Each element takes at least one byte: a count the frame cannot hold is refused up front.
    if (count > this.remaining()) throw new JuteError(`vector count ${count} exceeds the ${this.remaining()} bytes left`);
    const values: T[] = [];
    for (let index = 0; index < count; index += 1) values.push(element(this));
    return values;
  }

  /** Bytes not read yet. */
  remaining(): number {
    return this.buffer.length - this.offset;
  }
}
