import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ConnectRequest,
  JuteReader,
  JuteWriter,
  OpCode,
  readAuthPacket,
  readConnectRequest,
  readConnectResponse,
  readCreate2Response,
  readCreateRequest,
  readCreateResponse,
  readGetAclResponse,
  readGetChildren2Response,
  readGetChildrenResponse,
  readGetDataResponse,
  readMultiRequest,
  readMultiResponse,
  readPath,
  readPathInt,
  readPathVersion,
  readPathWatch,
  readReplyHeader,
  readRequestHeader,
  readSetAclRequest,
  readSetDataRequest,
  readSetWatches,
  readStat,
  requestPacket,
  WatcherType,
  AddWatchMode,
  readWatcherEvent,
  writeAuthPacket,
  writeConnectRequest,
  writeConnectResponse,
  writeCreateRequest,
  writeMultiRequest,
  writePath,
  writePathInt,
  writePathVersion,
  writePathWatch,
  writeReplyHeader,
  writeRequestHeader,
  writeSetAclRequest,
  writeSetDataRequest,
  writeSetWatches,
  writeSetWatches2,
  writeStat,
  writeWatcherEvent,
} from '../../src/client/builtin/records.js';
import { JuteError } from '../../src/client/builtin/jute.js';
import { frame, FrameDecoder, FrameError } from '../../src/client/builtin/framing.js';

// Frames the Java client 3.8 and Debian's ZooKeeper 3.8 exchanged (test/fixtures/golden/README.md).
interface Frame {
  connection: number;
  direction: 'c2s' | 's2c';
  bytes: Buffer;
}

const frames: Frame[] = readFileSync(new URL('../fixtures/golden/java-client-3.8.frames', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const [connection, direction, hex] = line.split(' ') as [string, 'c2s' | 's2c', string];
    return { connection: Number(connection), direction, bytes: Buffer.from(hex, 'hex') };
  });

/** Re-encodes a client request with our writers, from what our readers made of Java's bytes. */
function reencodeRequest(type: number, reader: JuteReader, writer: JuteWriter): void {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      writeCreateRequest(writer, readCreateRequest(reader));
      return;
    case OpCode.delete:
    case OpCode.check:
      writePathVersion(writer, readPathVersion(reader));
      return;
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2: {
      const { path, watch } = readPathWatch(reader);
      writePathWatch(writer, path, watch);
      return;
    }
    case OpCode.setData:
      writeSetDataRequest(writer, readSetDataRequest(reader));
      return;
    case OpCode.sync:
    case OpCode.getACL:
      writePath(writer, readPath(reader));
      return;
    case OpCode.setACL:
      writeSetAclRequest(writer, readSetAclRequest(reader));
      return;
    case OpCode.auth:
      writeAuthPacket(writer, readAuthPacket(reader));
      return;
    case OpCode.setWatches:
      writeSetWatches(writer, readSetWatches(reader, 1));
      return;
    case OpCode.setWatches2:
      writeSetWatches2(writer, readSetWatches(reader, 2));
      return;
    case OpCode.removeWatches:
    case OpCode.addWatch: {
      const { path, value } = readPathInt(reader);
      writePathInt(writer, path, value);
      return;
    }
    case OpCode.multi:
      writeMultiRequest(writer, readMultiRequest(reader));
      return;
    case OpCode.closeSession:
      return;
    default:
      throw new Error(`the fixture holds a request of type ${type} the test does not know`);
  }
}

/** Decodes a reply body as the request it answers; the frame must hold exactly that. */
function decodeReply(type: number, reader: JuteReader): unknown {
  switch (type) {
    case OpCode.create:
      return readCreateResponse(reader);
    case OpCode.create2:
    case OpCode.createContainer:
      return readCreate2Response(reader);
    case OpCode.exists:
    case OpCode.setData:
    case OpCode.setACL:
      return readStat(reader);
    case OpCode.getData:
      return readGetDataResponse(reader);
    case OpCode.getChildren:
      return readGetChildrenResponse(reader);
    case OpCode.getChildren2:
      return readGetChildren2Response(reader);
    case OpCode.getACL:
      return readGetAclResponse(reader);
    case OpCode.sync:
      return readPath(reader);
    case OpCode.multi:
      return readMultiResponse(reader);
    case OpCode.addWatch:
      return reader.int();
    default:
      return undefined;
  }
}

/** Every request in the fixture, with its reply (matched by xid on its connection). */
function exchanges() {
  const result: { type: number; request: Frame; reply: Frame | undefined }[] = [];
  for (const request of frames.filter((f) => f.direction === 'c2s')) {
    const first = frames.find((f) => f.connection === request.connection && f.direction === 'c2s') === request;
    if (first) continue;
    const { xid, type } = readRequestHeader(new JuteReader(request.bytes));
    const reply = frames.find((f) => f.connection === request.connection && f.direction === 's2c' && f.bytes.length >= 16 && f.bytes.readInt32BE(0) === xid);
    result.push({ type, request, reply });
  }
  return result;
}

describe('builtin codec against frames of the real Java client', () => {
  it('the fixture holds every request type the builtin client sends', () => {
    const types = new Set(exchanges().map((exchange) => exchange.type));
    for (const type of [1, 2, 3, 4, 5, 6, 7, 9, 12, 14, 15, 19, 18, 100, 101, 105, 106, -11]) expect(types, `opcode ${type}`).toContain(type);
  });

  it('re-encodes every ConnectRequest byte for byte, the reconnects with the session id and password', () => {
    const requests = frames.filter((f, index) => f.direction === 'c2s' && frames.findIndex((g) => g.connection === f.connection) === index);
    expect(requests).toHaveLength(3);
    const decoded = requests.map((f) => readConnectRequest(new JuteReader(f.bytes)));
    for (const [index, request] of decoded.entries()) {
      expect(writeConnectRequest(new JuteWriter(), request).bytes().toString('hex')).toBe(requests[index]!.bytes.toString('hex'));
    }
    expect(requests[0]!.bytes).toHaveLength(45);
    expect(decoded[0]).toMatchObject<Partial<ConnectRequest>>({ protocolVersion: 0, sessionId: 0n, timeOut: 6000, readOnly: false, passwd: Buffer.alloc(16) });
    expect(decoded[1]!.sessionId).not.toBe(0n);
    expect(decoded[1]!.lastZxidSeen).toBeGreaterThan(0n);
  });

  it('decodes every ConnectResponse and re-encodes it byte for byte', () => {
    const responses = frames.filter(
      (f, index) => f.direction === 's2c' && frames.findIndex((g) => g.connection === f.connection && g.direction === 's2c') === index,
    );
    expect(responses).toHaveLength(3);
    for (const response of responses) {
      const decoded = readConnectResponse(new JuteReader(response.bytes));
      expect(decoded.timeOut).toBe(6000);
      expect(decoded.passwd).toHaveLength(16);
      expect(writeConnectResponse(new JuteWriter(), decoded).bytes().toString('hex')).toBe(response.bytes.toString('hex'));
    }
  });

  it('re-encodes every request (header and record) byte for byte', () => {
    for (const { type, request } of exchanges()) {
      const reader = new JuteReader(request.bytes);
      const { xid } = readRequestHeader(reader);
      const writer = writeRequestHeader(new JuteWriter(), xid, type);
      reencodeRequest(type, reader, writer);
      expect(reader.remaining(), `opcode ${type} read whole`).toBe(0);
      expect(writer.bytes().toString('hex'), `opcode ${type}`).toBe(request.bytes.toString('hex'));
    }
  });

  it('decodes every reply to exactly its length', () => {
    for (const { type, reply } of exchanges()) {
      if (!reply) continue;
      const reader = new JuteReader(reply.bytes);
      const header = readReplyHeader(reader);
      expect(writeReplyHeader(new JuteWriter(), header).bytes()).toEqual(reply.bytes.subarray(0, 16));
      if (header.err !== 0) continue;
      decodeReply(type, reader);
      expect(reader.remaining(), `reply to opcode ${type}`).toBe(0);
    }
  });

  it('reads what Java wrote: creates, the sequential name, stats, children, ACLs', () => {
    const replies = exchanges().filter((exchange) => exchange.reply);
    const body = (type: number, index = 0) => {
      const { reply } = replies.filter((exchange) => exchange.type === type)[index]!;
      const reader = new JuteReader(reply!.bytes);
      readReplyHeader(reader);
      return decodeReply(type, reader);
    };
    expect(body(OpCode.create)).toBe('/golden');
    expect(body(OpCode.create, 1)).toBe('/golden/e-0000000000');
    expect(body(OpCode.create2)).toMatchObject({ path: '/golden/c2', stat: { version: 0, dataLength: 0 } });
    expect(body(OpCode.getData)).toMatchObject({ data: Buffer.from('golden'), stat: { version: 0, dataLength: 6 } });
    expect((body(OpCode.getChildren2) as { children: string[] }).children.sort()).toEqual(['c2', 'container', 'e-0000000000']);
    expect(body(OpCode.getACL)).toMatchObject({ acl: [{ perms: 31, scheme: 'world', id: 'anyone' }] });
    expect(body(OpCode.sync)).toBe('/golden');
    // Stats re-encode byte for byte.
    const { reply } = replies.find((exchange) => exchange.type === OpCode.setData)!;
    expect(writeStat(new JuteWriter(), readStat(new JuteReader(reply!.bytes, 16))).bytes()).toEqual(reply!.bytes.subarray(16));
  });

  it('reads a multi: the results of one that succeeded, and the per-op errors of one that failed', () => {
    const multis = exchanges().filter((exchange) => exchange.type === OpCode.multi);
    const results = multis.map(({ reply }) => readMultiResponse(new JuteReader(reply!.bytes, 16)));
    expect(results[0]!.map((result) => result.type)).toEqual(['create', 'setData', 'check', 'delete']);
    expect(results[0]![0]).toMatchObject({ path: '/golden/m' });
    // The failing op carries its code (BADVERSION -103); the ops after it were not tried (-2).
    expect(results[1]).toEqual([
      { type: 'error', err: -103 },
      { type: 'error', err: -2 },
    ]);
    expect(readReplyHeader(new JuteReader(multis[1]!.reply!.bytes)).err).toBe(0);
  });

  it('reads the re-arming of watches: SetWatches for one-shot watches, SetWatches2 once a persistent watch is held', () => {
    const setWatches = exchanges().find((exchange) => exchange.type === OpCode.setWatches)!;
    expect(readSetWatches(new JuteReader(setWatches.request.bytes, 8), 1)).toMatchObject({
      dataWatches: ['/golden/child'],
      // The exists of a missing node from the start is still armed too.
      existWatches: expect.arrayContaining(['/golden/absent', '/golden/missing']),
      childWatches: ['/golden/child'],
    });
    const setWatches2 = exchanges().find((exchange) => exchange.type === OpCode.setWatches2)!;
    expect(readSetWatches(new JuteReader(setWatches2.request.bytes, 8), 2)).toMatchObject({
      persistentWatches: ['/golden/child'],
      persistentRecursiveWatches: [],
    });
  });

  it('decodes notifications, chroot-free paths and all, and re-encodes them byte for byte', () => {
    const notifications = frames.filter((f) => f.direction === 's2c' && f.bytes.length >= 16 && f.bytes.readInt32BE(0) === -1);
    expect(notifications.length).toBeGreaterThanOrEqual(3);
    const events = notifications.map((f) => {
      const reader = new JuteReader(f.bytes);
      const header = readReplyHeader(reader);
      // 3.8 puts zxid -1 in a notification's header: it must never be taken for a zxid.
      expect(header.zxid).toBe(-1n);
      const event = readWatcherEvent(reader);
      expect(Buffer.concat([f.bytes.subarray(0, 16), writeWatcherEvent(new JuteWriter(), event).bytes()])).toEqual(f.bytes);
      return event;
    });
    expect(events).toContainEqual({ type: 3, state: 3, path: '/golden' });
    expect(events).toContainEqual({ type: 4, state: 3, path: '/golden' });
    expect(events).toContainEqual({ type: 2, state: 3, path: '/golden/child' });
  });

  it('the auth reply uses xid -4 and zxid 0', () => {
    const authReplies = frames.filter((f) => f.direction === 's2c' && f.bytes.length === 16 && f.bytes.readInt32BE(0) === -4);
    expect(authReplies).toHaveLength(3);
    expect(readReplyHeader(new JuteReader(authReplies[0]!.bytes))).toEqual({ xid: -4, zxid: 0n, err: 0 });
  });
});

describe('jute and framing edge cases', () => {
  it('null buffers, strings and vectors are length -1; empty ones 0', () => {
    const bytes = new JuteWriter()
      .buffer_(null)
      .string(null)
      .vector(null, () => {})
      .buffer_(Buffer.alloc(0))
      .bytes();
    expect(bytes.toString('hex')).toBe('ffffffffffffffffffffffff00000000');
    const reader = new JuteReader(bytes);
    expect([reader.buffer_(), reader.string(), reader.vector((r) => r.int()), reader.buffer_()]).toEqual([null, null, null, Buffer.alloc(0)]);
  });

  it('a record cut short is a JuteError, never a read past the frame', () => {
    expect(() => readStat(new JuteReader(Buffer.alloc(67)))).toThrow(JuteError);
    expect(() => new JuteReader(Buffer.from('0000000a6162', 'hex')).string()).toThrow(JuteError);
    expect(() => new JuteReader(Buffer.from('7fffffff', 'hex')).vector((r) => r.int())).toThrow(JuteError);
  });

  it('frames split at every byte come out whole and in order', () => {
    const payloads = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from('a longer payload')];
    const stream = Buffer.concat(payloads.map(frame));
    const decoder = new FrameDecoder(1024);
    const out: Buffer[] = [];
    for (const byte of stream) out.push(...decoder.push(Buffer.from([byte])));
    expect(out).toEqual(payloads);
    expect(decoder.pendingBytes()).toBe(0);
  });

  it('a length over the limit, or negative, is a FrameError', () => {
    expect(() => new FrameDecoder(1024).push(Buffer.from('00000401', 'hex'))).toThrow(FrameError);
    expect(() => new FrameDecoder(1024).push(Buffer.from('ffffffff', 'hex'))).toThrow(FrameError);
    expect(new FrameDecoder(1024).push(Buffer.concat([Buffer.from('00000400', 'hex'), Buffer.alloc(1024)]))).toHaveLength(1);
  });
});

// Golden bytes written out by hand from zookeeper.jute (RequestHeader: int xid, int type;
// AddWatchRequest: ustring path, int mode; RemoveWatchesRequest: ustring path, int type;
// SetWatches2: long relativeZxid, then five vector<ustring>: data, exist, child, persistent,
// persistentRecursive), not from our writer.
describe('records of persistent watches', () => {
  it('AddWatchRequest: header {xid, 106}, the path, the mode (PERSISTENT 0, PERSISTENT_RECURSIVE 1)', () => {
    const packet = requestPacket(7, OpCode.addWatch, (writer) => writePathInt(writer, '/a', AddWatchMode.persistentRecursive));
    expect(packet.toString('hex')).toBe(['00000007', '0000006a', '00000002', '2f61', '00000001'].join(''));
    expect(AddWatchMode).toEqual({ persistent: 0, persistentRecursive: 1 });
  });

  it('RemoveWatchesRequest: header {xid, 18}, the path, the WatcherType (Children 1, Data 2, Any 3, Persistent 4, PersistentRecursive 5)', () => {
    const packet = requestPacket(8, OpCode.removeWatches, (writer) => writePathInt(writer, '/ab', WatcherType.persistent));
    expect(packet.toString('hex')).toBe(['00000008', '00000012', '00000003', '2f6162', '00000004'].join(''));
    expect(WatcherType).toEqual({ children: 1, data: 2, any: 3, persistent: 4, persistentRecursive: 5 });
  });

  it('SetWatches2: header {xid, 105}, the zxid, then the five path lists in jute order', () => {
    const request = {
      relativeZxid: 0x1234n,
      dataWatches: ['/d'],
      existWatches: [],
      childWatches: ['/c'],
      persistentWatches: ['/p'],
      persistentRecursiveWatches: ['/r', '/s'],
    };
    const packet = requestPacket(9, OpCode.setWatches2, (writer) => writeSetWatches2(writer, request));
    expect(packet.toString('hex')).toBe(
      [
        '00000009',
        '00000069',
        '0000000000001234',
        '00000001',
        '00000002',
        '2f64', // data: ["/d"]
        '00000000', // exist: []
        '00000001',
        '00000002',
        '2f63', // child: ["/c"]
        '00000001',
        '00000002',
        '2f70', // persistent: ["/p"]
        '00000002',
        '00000002',
        '2f72',
        '00000002',
        '2f73', // persistentRecursive: ["/r", "/s"]
      ].join(''),
    );
    const reader = new JuteReader(packet.subarray(8));
    expect(readSetWatches(reader, 2)).toEqual(request);
  });

  it('SetWatches (101) is SetWatches2 without the persistent lists', () => {
    const packet = requestPacket(10, OpCode.setWatches, (writer) =>
      writeSetWatches(writer, { relativeZxid: 1n, dataWatches: [], existWatches: ['/e'], childWatches: [] }),
    );
    expect(packet.toString('hex')).toBe(['0000000a', '00000065', '0000000000000001', '00000000', '00000001', '00000002', '2f65', '00000000'].join(''));
  });
});
