import { describe, expect, it } from 'vitest';
import { candidateNameStem, electionOrder, parseCandidateName, queueOrder, validatePrefix } from '../../src/candidate.js';
import { isNameOf } from '../../src/recipes.js';
import { nodeRuntime } from '../../src/runtime.js';

const newGuid = nodeRuntime.newGuid;
import { ancestorsAndSelf, validatePath } from '../../src/paths.js';

describe('validatePath', () => {
  it.each([
    ['jobs/leader', "must start with '/'"],
    ['/jobs/leader/', "must not end with '/'"],
    ['/jobs//leader', 'empty segment'],
    ['/jobs/../leader', "without '.' or '..'"],
    ['/jobs/./leader', "without '.' or '..'"],
    ['/', 'below the root'],
    ['', 'non-empty string'],
  ])('rejects %j with a message that says what is wrong', (path, message) => {
    expect(() => validatePath(path)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(message) }));
  });

  it('names the bad value in the message', () => {
    expect(() => validatePath('jobs/leader')).toThrow("path must start with '/': got 'jobs/leader'");
  });

  it('rejects values that are not strings', () => {
    expect(() => validatePath(42)).toThrow(/non-empty string/);
  });

  it('accepts absolute paths', () => {
    expect(validatePath('/services/scheduler/leader')).toBe('/services/scheduler/leader');
  });
});

describe('candidate names', () => {
  it('parse back into recipe and sequence', () => {
    const guid = newGuid();
    const name = `${candidateNameStem('web_', guid)}0000000042`;
    expect(parseCandidateName(name)).toEqual({ name, recipe: 'zk-leader', sequence: 42, sequenceText: '0000000042' });
  });

  it('belong to their GUID even when the prefix ends in hex digits', () => {
    const guid = newGuid();
    expect(isNameOf(`${candidateNameStem('abc', guid)}0000000001`, guid)).toBe(true);
    expect(isNameOf(`${candidateNameStem('abc', guid)}0000000001`, newGuid())).toBe(false);
  });

  it('ignore nodes that are not candidates', () => {
    expect(parseCandidateName('config')).toBeNull();
    expect(parseCandidateName('lock-0000000001')).toBeNull();
  });

  it('order by sequence, not by name', () => {
    const [a, b, c] = [newGuid(), newGuid(), newGuid()].sort().reverse();
    const children = [`${a}-n_0000000003`, `zzz${b}-n_0000000001`, `${c}-n_0000000002`, 'not-a-candidate'];
    expect(electionOrder(children).map((candidate) => candidate.sequence)).toEqual([1, 2, 3]);
  });

  it('order past the 10-digit wrap of the signed sequence counter', () => {
    const guid = newGuid();
    const order = electionOrder([`${guid}-n_2147483647`, `${guid}-n_0000000005`]).map((candidate) => candidate.sequence);
    expect(order).toEqual([5, 2147483647]);
  });

  it('reject prefixes that would break parsing', () => {
    expect(() => validatePrefix('a/b')).toThrow(/prefix/);
    expect(validatePrefix('worker.1_')).toBe('worker.1_');
  });
});

describe('ancestorsAndSelf', () => {
  it('lists each level from the top', () => {
    expect(ancestorsAndSelf('/a/b/c')).toEqual(['/a', '/a/b', '/a/b/c']);
  });
});

describe('sequence numbers across the 2^31 wrap', () => {
  const guid = 'a'.repeat(32);
  const name = (sequence: number) => `${guid}-n_${sequence < 0 ? '-' + String(-sequence).padStart(10, '0') : String(sequence).padStart(10, '0')}`;

  it('parses a wrapped (negative) sequence', () => {
    expect(parseCandidateName(name(-2147483648))?.sequence).toBe(-2147483648);
  });

  it('orders candidates created after the wrap behind those created before it', () => {
    const before = [2147483646, 2147483647].map(name);
    const after = [-2147483648, -2147483647].map(name);
    expect(electionOrder([...after, ...before]).map((c) => c.sequence)).toEqual([2147483646, 2147483647, -2147483648, -2147483647]);
  });

  it('orders ordinary negative-free queues by sequence', () => {
    expect(electionOrder([name(12), name(3), name(7)]).map((c) => c.sequence)).toEqual([3, 7, 12]);
  });

  it('counts sequential children of other programs in the queue order', () => {
    const queue = queueOrder([name(5), 'lock-0000000003', 'config', name(1)]);
    expect(queue.entries.map((entry) => entry.name)).toEqual([name(1), 'lock-0000000003', name(5)]);
    expect(queue.foreign.map((entry) => entry.name)).toEqual(['lock-0000000003']);
  });
});
