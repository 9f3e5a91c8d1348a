import { describe, expect, it } from 'vitest';
import { parseCandidateName, queueOrder } from '../../src/candidate.js';
import { parseSequence, trailingSequence } from '../../src/sequence.js';

/** What ZooKeeper appends: the counter with "%010d" (Java's String.format). */
const printed = (sequence: number) => (sequence < 0 ? `-${String(-sequence).padStart(9, '0')}` : String(sequence).padStart(10, '0'));
const guid = '0123456789abcdef0123456789abcdef';

describe('parseSequence', () => {
  it.each([0, 5, 42, 2 ** 31 - 1, -1, -5, -999_999_999, -1_000_000_000, -(2 ** 31)])('reads %i back from how ZooKeeper prints it', (sequence) => {
    expect(parseSequence(printed(sequence))).toBe(sequence);
  });

  it('reads the counter past its wrap as negative', () => {
    expect(parseSequence('-2147483648')).toBe(-2147483648);
    expect(parseSequence('-000000005')).toBe(-5);
  });

  it.each(['', '42', '000000042', '00000000042', '+000000042', '-00000005', 'lock-0000000042'])('refuses %j, which ZooKeeper does not print', (text) => {
    expect(parseSequence(text)).toBeNull();
  });
});

describe('trailingSequence (a name of unknown stem)', () => {
  it("reads ten digits after a '-' as a separator and a sequence", () => {
    expect(trailingSequence('lock-0000000003')).toEqual({ sequence: 3, sequenceText: '0000000003' });
    expect(trailingSequence('lock-1000000000')).toEqual({ sequence: 1_000_000_000, sequenceText: '1000000000' });
    expect(trailingSequence('job0000000007')).toEqual({ sequence: 7, sequenceText: '0000000007' });
  });

  it('reads a wrapped sequence after a stem that ends in a separator', () => {
    expect(trailingSequence(`lock-${printed(-(2 ** 31))}`)).toEqual({ sequence: -(2 ** 31), sequenceText: '-2147483648' });
    expect(trailingSequence(`lock-${printed(-5)}`)).toEqual({ sequence: -5, sequenceText: '-000000005' });
  });

  it('reads no wrapped sequence from a single dash before nine digits: names of other kinds, which would sort ahead of every candidate', () => {
    expect(trailingSequence('task-000000001')).toBeNull();
    expect(trailingSequence('order-123456789')).toBeNull();
    // The cost: a stem without a separator, seen only after some 2^31 creates under one parent.
    expect(trailingSequence(`lock${printed(-5)}`)).toBeNull();
  });

  it('reads the last ten of more digits, as before', () => {
    expect(trailingSequence('node-120000000005')).toEqual({ sequence: 5, sequenceText: '0000000005' });
  });

  it('finds none in a name without ten digits or a wrapped suffix', () => {
    expect(trailingSequence('lock')).toBeNull();
    expect(trailingSequence('lock-00000005')).toBeNull();
    expect(trailingSequence('lock000000005')).toBeNull();
  });
});

describe('one parser for candidates and foreign nodes', () => {
  it("reads a candidate's wrapped sequence as its foreign neighbour's", () => {
    expect(parseCandidateName(`${guid}-n_${printed(-5)}`)).toMatchObject({ sequence: -5, sequenceText: '-000000005' });
    expect(queueOrder([`lock-${printed(-5)}`]).foreign).toEqual([{ name: 'lock--000000005', sequence: -5, sequenceText: '-000000005' }]);
  });

  it('puts a foreign node created after the wrap between the candidates created before and after it', () => {
    const before = `${guid}-n_${printed(2 ** 31 - 1)}`;
    const foreign = `lock-${printed(-2_147_483_600)}`;
    const after = `${guid}-n_${printed(-2_147_483_000)}`;
    expect(queueOrder([after, foreign, before]).entries.map((entry) => entry.name)).toEqual([before, foreign, after]);
  });
});

describe('a queue tells where each name stands', () => {
  it('finds every candidate and foreign node at its index in entries, across the wrap and in both orders', () => {
    const names = [
      `${guid}-n_${printed(2 ** 31 - 2)}`,
      `lock-${printed(2 ** 31 - 1)}`,
      `${guid}-n_${printed(-2_147_483_000)}`,
      `lock-${printed(-2_147_482_000)}`,
      `_c_01234567-89ab-cdef-0123-456789abcdef-latch-${printed(-2_147_481_000)}`,
    ];
    for (const queue of [queueOrder(names), queueOrder(names, 'creation'), queueOrder(names, 'peer')]) {
      queue.entries.forEach((entry, index) => expect(queue.positionOf(entry.name)).toBe(index));
    }
  });

  it('finds no name that is not listed, nor one whose sequence is listed under another name', () => {
    const queue = queueOrder([`${guid}-n_${printed(3)}`, `${guid}-n_${printed(4)}`]);
    expect(queue.positionOf(`${guid.replace('0', 'f')}-n_${printed(3)}`)).toBeUndefined();
    expect(queue.positionOf(`${guid}-n_${printed(5)}`)).toBeUndefined();
    expect(queue.positionOf('config')).toBeUndefined();
  });
});

describe('a long queue', () => {
  it('orders a thousand names in any listed order by creation, across the wrap', () => {
    const sequences = Array.from({ length: 1000 }, (_, index) => (index < 500 ? 2 ** 31 - 500 + index : -(2 ** 31) + index - 500));
    const names = sequences.map((sequence) => `${guid}-n_${printed(sequence)}`);
    const listed = [...names].sort((a, b) => (a.split('').reverse().join() < b.split('').reverse().join() ? -1 : 1));
    expect(queueOrder(listed).candidates.map((candidate) => candidate.name)).toEqual(names);
  });
});
