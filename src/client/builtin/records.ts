import { JuteError, JuteReader, JuteWriter } from './jute.js';

/**
 * The records of ZooKeeper's `zookeeper.jute` the builtin client speaks, one encoder or
 * decoder per record, and the opcodes and special xids of `ZooDefs.java` and `ClientCnxn.java`.
 * Pure functions over `JuteWriter`/`JuteReader`; see docs in /work/shared/design/zookeeper-protocol.md.
 */

/** Request types (`ZooDefs.OpCode`). */
export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  removeWatches: 18,
  createContainer: 19,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  setWatches2: 105,
  addWatch: 106,
  closeSession: -11,
  error: -1,
} as const;

/** Xids the client and server give a meaning of their own; normal requests count from 1. */
export const Xid = {
  notification: -1,
  ping: -2,
  auth: -4,
} as const;

/** Create flags (`CreateMode.java`). */
export const CreateFlags = {
  persistent: 0,
  ephemeral: 1,
  persistentSequential: 2,
  ephemeralSequential: 3,
  container: 4,
} as const;

/**
 * `WatcherType` of removeWatches/checkWatches: Children 1, Data 2, Any 3, and from ZooKeeper
 * 3.9 (ZOOKEEPER-4472) Persistent 4, PersistentRecursive 5 (a 3.8 server answers those with
 * MARSHALLINGERROR; it removes a persistent watch with Any).
 */
export const WatcherType = { children: 1, data: 2, any: 3, persistent: 4, persistentRecursive: 5 } as const;

/** `AddWatchMode`: PERSISTENT 0, PERSISTENT_RECURSIVE 1. */
export const AddWatchMode = { persistent: 0, persistentRecursive: 1 } as const;

/** A whole `Stat`, 68 bytes on the wire. */
export interface Stat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

/** `ACL: int perms, Id{ustring scheme, ustring id}`. */
export interface Acl {
  perms: number;
  scheme: string;
  id: string;
}

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: bigint;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** Always sent (3.8 appends it by hand, 3.9+ has it in the record); false: we want a read-write server. */
  readOnly: boolean;
}

export interface ConnectResponse {
  protocolVersion: number;
  /** The negotiated session timeout; `<= 0` means the session is expired or unknown. */
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer;
  /** Read only if the server wrote it (it does when the request carried `readOnly`). */
  readOnly: boolean;
}

export interface ReplyHeader {
  xid: number;
  zxid: bigint;
  err: number;
}

export interface WatcherEvent {
  type: number;
  state: number;
  path: string;
}

// --- connect ---------------------------------------------------------------------------------

export function writeConnectRequest(writer: JuteWriter, request: ConnectRequest): JuteWriter {
  return writer
    .int(request.protocolVersion)
    .long(request.lastZxidSeen)
    .int(request.timeOut)
    .long(request.sessionId)
    .buffer_(request.passwd)
    .boolean(request.readOnly);
}

export function readConnectRequest(reader: JuteReader): ConnectRequest {
  return {
    protocolVersion: reader.int(),
    lastZxidSeen: reader.long(),
    timeOut: reader.int(),
    sessionId: reader.long(),
    passwd: reader.buffer_() ?? Buffer.alloc(0),
    readOnly: reader.remaining() > 0 ? reader.boolean() : false,
  };
}

export function writeConnectResponse(writer: JuteWriter, response: ConnectResponse): JuteWriter {
  return writer.int(response.protocolVersion).int(response.timeOut).long(response.sessionId).buffer_(response.passwd).boolean(response.readOnly);
}

export function readConnectResponse(reader: JuteReader): ConnectResponse {
  return {
    protocolVersion: reader.int(),
    timeOut: reader.int(),
    sessionId: reader.long(),
    passwd: reader.buffer_() ?? Buffer.alloc(0),
    readOnly: reader.remaining() > 0 ? reader.boolean() : false,
  };
}

// --- headers ---------------------------------------------------------------------------------

export function writeRequestHeader(writer: JuteWriter, xid: number, type: number): JuteWriter {
  return writer.int(xid).int(type);
}

export function readRequestHeader(reader: JuteReader): { xid: number; type: number } {
  return { xid: reader.int(), type: reader.int() };
}

export function writeReplyHeader(writer: JuteWriter, header: ReplyHeader): JuteWriter {
  return writer.int(header.xid).long(header.zxid).int(header.err);
}

export function readReplyHeader(reader: JuteReader): ReplyHeader {
  return { xid: reader.int(), zxid: reader.long(), err: reader.int() };
}

// --- data records ----------------------------------------------------------------------------

export function readStat(reader: JuteReader): Stat {
  return {
    czxid: reader.long(),
    mzxid: reader.long(),
    ctime: reader.long(),
    mtime: reader.long(),
    version: reader.int(),
    cversion: reader.int(),
    aversion: reader.int(),
    ephemeralOwner: reader.long(),
    dataLength: reader.int(),
    numChildren: reader.int(),
    pzxid: reader.long(),
  };
}

export function writeStat(writer: JuteWriter, stat: Stat): JuteWriter {
  return writer
    .long(stat.czxid)
    .long(stat.mzxid)
    .long(stat.ctime)
    .long(stat.mtime)
    .int(stat.version)
    .int(stat.cversion)
    .int(stat.aversion)
    .long(stat.ephemeralOwner)
    .int(stat.dataLength)
    .int(stat.numChildren)
    .long(stat.pzxid);
}

function writeAcl(writer: JuteWriter, acl: Acl): void {
  writer.int(acl.perms).string(acl.scheme).string(acl.id);
}

function readAcl(reader: JuteReader): Acl {
  return { perms: reader.int(), scheme: reader.string() ?? '', id: reader.string() ?? '' };
}

function writeStrings(writer: JuteWriter, values: readonly string[]): void {
  writer.vector(values, (w, value) => w.string(value));
}

function readStrings(reader: JuteReader): string[] {
  return reader.vector((r) => r.string() ?? '') ?? [];
}

// --- requests --------------------------------------------------------------------------------

/** `CreateRequest` (create 1, create2 15, createContainer 19). */
export interface CreateRequest {
  path: string;
  data: Buffer | null;
  acl: readonly Acl[];
  flags: number;
}

export function writeCreateRequest(writer: JuteWriter, request: CreateRequest): JuteWriter {
  writer.string(request.path).buffer_(request.data);
  writer.vector(request.acl, writeAcl);
  return writer.int(request.flags);
}

export function readCreateRequest(reader: JuteReader): CreateRequest {
  return { path: reader.string() ?? '', data: reader.buffer_(), acl: reader.vector(readAcl) ?? [], flags: reader.int() };
}

/** `DeleteRequest` and `CheckVersionRequest`: a path and a version (-1: any). */
export interface PathVersion {
  path: string;
  version: number;
}

export function writePathVersion(writer: JuteWriter, request: PathVersion): JuteWriter {
  return writer.string(request.path).int(request.version);
}

export function readPathVersion(reader: JuteReader): PathVersion {
  return { path: reader.string() ?? '', version: reader.int() };
}

/** `ExistsRequest`, `GetDataRequest`, `GetChildren2Request`: a path and whether to leave a watch. */
export function writePathWatch(writer: JuteWriter, path: string, watch: boolean): JuteWriter {
  return writer.string(path).boolean(watch);
}

export function readPathWatch(reader: JuteReader): { path: string; watch: boolean } {
  return { path: reader.string() ?? '', watch: reader.boolean() };
}

/** `SyncRequest`, `GetACLRequest`: a path alone. */
export function writePath(writer: JuteWriter, path: string): JuteWriter {
  return writer.string(path);
}

export function readPath(reader: JuteReader): string {
  return reader.string() ?? '';
}

export interface SetDataRequest {
  path: string;
  data: Buffer | null;
  version: number;
}

export function writeSetDataRequest(writer: JuteWriter, request: SetDataRequest): JuteWriter {
  return writer.string(request.path).buffer_(request.data).int(request.version);
}

export function readSetDataRequest(reader: JuteReader): SetDataRequest {
  return { path: reader.string() ?? '', data: reader.buffer_(), version: reader.int() };
}

export interface SetAclRequest {
  path: string;
  acl: readonly Acl[];
  version: number;
}

export function writeSetAclRequest(writer: JuteWriter, request: SetAclRequest): JuteWriter {
  writer.string(request.path);
  writer.vector(request.acl, writeAcl);
  return writer.int(request.version);
}

export function readSetAclRequest(reader: JuteReader): SetAclRequest {
  return { path: reader.string() ?? '', acl: reader.vector(readAcl) ?? [], version: reader.int() };
}

/** `AuthPacket`: type is always 0. */
export interface AuthPacket {
  type: number;
  scheme: string;
  auth: Buffer;
}

export function writeAuthPacket(writer: JuteWriter, packet: AuthPacket): JuteWriter {
  return writer.int(packet.type).string(packet.scheme).buffer_(packet.auth);
}

export function readAuthPacket(reader: JuteReader): AuthPacket {
  return { type: reader.int(), scheme: reader.string() ?? '', auth: reader.buffer_() ?? Buffer.alloc(0) };
}

/** `GetSASLRequest`: one SASL token from the client (DIGEST-MD5's first one is empty). */
export function writeGetSaslRequest(writer: JuteWriter, token: Buffer): JuteWriter {
  return writer.buffer_(token);
}

export function readGetSaslRequest(reader: JuteReader): Buffer {
  return reader.buffer_() ?? Buffer.alloc(0);
}

/** `SetSASLResponse`: the server's token; null when it refused the login or has none configured. */
export function readSetSaslResponse(reader: JuteReader): Buffer | null {
  return reader.buffer_();
}

/** `SetWatches` (101) and, with the two persistent lists, `SetWatches2` (105). */
export interface SetWatches {
  relativeZxid: bigint;
  dataWatches: readonly string[];
  existWatches: readonly string[];
  childWatches: readonly string[];
  persistentWatches?: readonly string[];
  persistentRecursiveWatches?: readonly string[];
}

export function writeSetWatches(writer: JuteWriter, request: SetWatches): JuteWriter {
  writer.long(request.relativeZxid);
  writeStrings(writer, request.dataWatches);
  writeStrings(writer, request.existWatches);
  writeStrings(writer, request.childWatches);
  return writer;
}

export function writeSetWatches2(writer: JuteWriter, request: SetWatches): JuteWriter {
  writeSetWatches(writer, request);
  writeStrings(writer, request.persistentWatches ?? []);
  writeStrings(writer, request.persistentRecursiveWatches ?? []);
  return writer;
}

export function readSetWatches(reader: JuteReader, version: 1 | 2): SetWatches {
  const request: SetWatches = {
    relativeZxid: reader.long(),
    dataWatches: readStrings(reader),
    existWatches: readStrings(reader),
    childWatches: readStrings(reader),
  };
  if (version === 1) return request;
  return { ...request, persistentWatches: readStrings(reader), persistentRecursiveWatches: readStrings(reader) };
}

/** `RemoveWatchesRequest` (type: `WatcherType`) and `AddWatchRequest` (mode: `AddWatchMode`). */
export function writePathInt(writer: JuteWriter, path: string, value: number): JuteWriter {
  return writer.string(path).int(value);
}

export function readPathInt(reader: JuteReader): { path: string; value: number } {
  return { path: reader.string() ?? '', value: reader.int() };
}

// --- multi -----------------------------------------------------------------------------------

/** One operation of a multi (`MultiOperationRecord`). */
export type MultiRequestOp =
  | { type: 'create'; request: CreateRequest; opcode: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer }
  | { type: 'delete'; request: PathVersion }
  | { type: 'setData'; request: SetDataRequest }
  | { type: 'check'; request: PathVersion };

function writeMultiHeader(writer: JuteWriter, type: number, done: boolean, err: number): void {
  writer.int(type).boolean(done).int(err);
}

export function writeMultiRequest(writer: JuteWriter, ops: readonly MultiRequestOp[]): JuteWriter {
  for (const op of ops) {
    switch (op.type) {
      case 'create':
        writeMultiHeader(writer, op.opcode, false, -1);
        writeCreateRequest(writer, op.request);
        break;
      case 'delete':
        writeMultiHeader(writer, OpCode.delete, false, -1);
        writePathVersion(writer, op.request);
        break;
      case 'setData':
        writeMultiHeader(writer, OpCode.setData, false, -1);
        writeSetDataRequest(writer, op.request);
        break;
      case 'check':
        writeMultiHeader(writer, OpCode.check, false, -1);
        writePathVersion(writer, op.request);
        break;
    }
  }
  writeMultiHeader(writer, -1, true, -1);
  return writer;
}

export function readMultiRequest(reader: JuteReader): MultiRequestOp[] {
  const ops: MultiRequestOp[] = [];
  for (;;) {
    const type = reader.int();
    const done = reader.boolean();
    reader.int();
    if (done) return ops;
    if (type === OpCode.create || type === OpCode.create2 || type === OpCode.createContainer)
      ops.push({ type: 'create', opcode: type, request: readCreateRequest(reader) });
    else if (type === OpCode.delete) ops.push({ type: 'delete', request: readPathVersion(reader) });
    else if (type === OpCode.setData) ops.push({ type: 'setData', request: readSetDataRequest(reader) });
    else if (type === OpCode.check) ops.push({ type: 'check', request: readPathVersion(reader) });
    else throw new JuteError(`unknown multi op type ${type}`);
  }
}

/** One result of a multi (`MultiResponse`): `err` is 0 for an op that succeeded. */
export type MultiResultOp =
  | { type: 'create'; err: 0; path: string; stat?: Stat }
  | { type: 'delete'; err: 0 }
  | { type: 'setData'; err: 0; stat: Stat }
  | { type: 'check'; err: 0 }
  | { type: 'error'; err: number };

export function readMultiResponse(reader: JuteReader): MultiResultOp[] {
  const results: MultiResultOp[] = [];
  for (;;) {
    const type = reader.int();
    const done = reader.boolean();
    const err = reader.int();
    if (done) return results;
    switch (type) {
      case OpCode.create:
        results.push({ type: 'create', err: 0, path: reader.string() ?? '' });
        break;
      case OpCode.create2:
        results.push({ type: 'create', err: 0, path: reader.string() ?? '', stat: readStat(reader) });
        break;
      case OpCode.delete:
        results.push({ type: 'delete', err: 0 });
        break;
      case OpCode.setData:
        results.push({ type: 'setData', err: 0, stat: readStat(reader) });
        break;
      case OpCode.check:
        results.push({ type: 'check', err: 0 });
        break;
      case OpCode.error:
        // The header's err and the ErrorResponse body carry the same code; the body is read to stay in step.
        reader.int();
        results.push({ type: 'error', err });
        break;
      default:
        throw new JuteError(`unknown multi result type ${type}`);
    }
  }
}

// --- responses -------------------------------------------------------------------------------

export function readCreateResponse(reader: JuteReader): string {
  return reader.string() ?? '';
}

export function readCreate2Response(reader: JuteReader): { path: string; stat: Stat } {
  return { path: reader.string() ?? '', stat: readStat(reader) };
}

export function readGetDataResponse(reader: JuteReader): { data: Buffer | null; stat: Stat } {
  return { data: reader.buffer_(), stat: readStat(reader) };
}

export function readGetChildrenResponse(reader: JuteReader): string[] {
  return readStrings(reader);
}

export function readGetChildren2Response(reader: JuteReader): { children: string[]; stat: Stat } {
  return { children: readStrings(reader), stat: readStat(reader) };
}

export function readGetAclResponse(reader: JuteReader): { acl: Acl[]; stat: Stat } {
  return { acl: reader.vector(readAcl) ?? [], stat: readStat(reader) };
}

export function readWatcherEvent(reader: JuteReader): WatcherEvent {
  return { type: reader.int(), state: reader.int(), path: reader.string() ?? '' };
}

export function writeWatcherEvent(writer: JuteWriter, event: WatcherEvent): JuteWriter {
  return writer.int(event.type).int(event.state).string(event.path);
}

/** A whole client packet: its header, then the body `write` adds; the 4-byte length prefix comes from framing. */
export function requestPacket(xid: number, type: number, write?: (writer: JuteWriter) => void): Buffer {
  const writer = new JuteWriter();
  writeRequestHeader(writer, xid, type);
  write?.(writer);
  return writer.bytes();
}

export { JuteReader, JuteWriter };
