import { describe, expect, it } from 'vitest';
import { OpCode, requestPacket, writeMultiRequest, type MultiRequestOp } from '../../src/client/builtin/records.js';
import { openAcl, type MultiOp } from '../../src/client/types.js';
import { digestAcl } from '../../src/acl.js';
import { checkMultiFits, multiRequestBytes } from '../../src/limits.js';

// The size a transaction has on the wire, counted before it is sent (the server closes the
// connection on a request over its jute.maxbuffer): the count must be what the codec writes.

const chroot = '/apps/ü';
const ops: MultiOp[] = [
  { type: 'check', path: '/election/n_0000000001', version: -1 },
  { type: 'create', path: '/config/entry-', data: Buffer.from('first'), mode: 'persistent-sequential', acl: digestAcl('app:s3cret') },
  { type: 'setData', path: '/config', data: Buffer.alloc(300, 7), version: 4 },
  { type: 'delete', path: '/config/old', version: -1 },
  { type: 'check', path: '/', version: 0 },
];

/** The packet the builtin client sends for `ops`, without the 4-byte length prefix. */
function encoded(multi: readonly MultiOp[]): Buffer {
  const toServer = (path: string) => (path === '/' ? chroot : chroot + path);
  const requestOps = multi.map((op): MultiRequestOp => {
    switch (op.type) {
      case 'create':
        return {
          type: 'create',
          opcode: OpCode.create,
          request: {
            path: toServer(op.path),
            data: op.data,
            acl: op.acl.map((entry) => ({ perms: entry.permissions, scheme: entry.scheme, id: entry.id })),
            flags: 2,
          },
        };
      case 'setData':
        return { type: 'setData', request: { path: toServer(op.path), data: op.data, version: op.version } };
      default:
        return { type: op.type, request: { path: toServer(op.path), version: op.version } };
    }
  });
  return requestPacket(7, OpCode.multi, (writer) => writeMultiRequest(writer, requestOps));
}

describe('multi request size', () => {
  it('is the length of the packet the codec writes, chroot included', () => {
    expect(multiRequestBytes(ops, chroot)).toBe(encoded(ops).length);
    expect(multiRequestBytes([ops[0]!], '')).toBe(
      requestPacket(1, OpCode.multi, (writer) => writeMultiRequest(writer, [{ type: 'check', request: { path: ops[0]!.path, version: -1 } }])).length,
    );
  });

  it('sends a request exactly at the limit, and refuses one byte more with REQUEST_TOO_LARGE', () => {
    const bytes = multiRequestBytes(ops, chroot);
    expect(() => checkMultiFits('transaction', [], ops, chroot, bytes)).not.toThrow();
    expect(() => checkMultiFits('transaction', [], ops, chroot, bytes - 1)).toThrowError(
      expect.objectContaining({ code: 'REQUEST_TOO_LARGE', message: expect.stringMatching(/split the transaction/) }),
    );
  });

  it('counts an open ACL as the codec writes it', () => {
    const create: MultiOp[] = [{ type: 'create', path: '/a', data: Buffer.alloc(0), mode: 'persistent', acl: openAcl }];
    expect(multiRequestBytes(create, chroot)).toBe(encoded(create).length);
  });
});
