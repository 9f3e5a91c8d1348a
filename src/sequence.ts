/**
 * ZooKeeper's sequence suffix, read in one place. The server appends the parent's cversion,
 * a signed 32-bit counter, with "%010d": ten digits ('0000000042'), or once the counter has
 * wrapped past 2^31 - 1, a '-' and nine or ten digits ('-000000005', '-2147483648').
 */

/**
 * The sequence as a regular-expression source with one capture group, to put after a known
 * name stem. The peers' own patterns are narrower (kazoo's `-?\d{10}` misses '-000000005');
 * that far past the wrap they stop seeing nodes.
 */
export const sequencePattern = '(-\\d{9,10}|\\d{10})';

const exactly = new RegExp(`^${sequencePattern}$`);

/** A sequence as its number and as printed (the peers sort on the text). */
export interface Sequence {
  /** The counter's value: negative after the wrap. */
  sequence: number;
  /** The suffix exactly as ZooKeeper printed it. */
  sequenceText: string;
}

/** The number a printed sequence stands for ('-2147483648' is -2^31); null for other text. */
export function parseSequence(text: string): number | null {
  return exactly.test(text) ? Number(text) : null;
}

/**
 * The sequence at the end of a name whose stem is unknown (another program's node), or null.
 * A '-' right before ten digits is read as a separator ('lock-0000000003' is 3), since most
 * stems end with one; a wrapped sequence is read only after a doubled '-' (the stem's
 * separator, then the sign): 'lock--000000005' is -5, 'lock--2147483648' is -2^31. A single
 * '-' before nine digits is a name of another kind ('task-000000001', 'order-123456789'):
 * read as a sequence, it would sort ahead of every candidate and block the election, for the
 * sake of a stem without a separator seen after some 2^31 creates under one parent.
 */
export function trailingSequence(name: string): Sequence | null {
  const digits = /\d*$/.exec(name)![0];
  const before = name.slice(0, name.length - digits.length);
  const wrapped =
    (digits.length === 9 && before.endsWith('--')) || (digits.length === 10 && before.endsWith('--') && digits >= '1000000000' && digits <= '2147483648');
  if (wrapped) return { sequence: -Number(digits), sequenceText: `-${digits}` };
  if (digits.length < 10) return null;
  const sequenceText = digits.slice(-10);
  return { sequence: Number(sequenceText), sequenceText };
}
