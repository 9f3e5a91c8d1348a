import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { age, bytes, compact, compactLength, plainText } from '../../src/format.js';

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;
const day = 24 * hour;

describe('age', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [3_200, '3s'],
    [59_999, '59s'],
    [minute, '1m 0s'],
    [5 * minute + 10 * second + 900, '5m 10s'],
    [hour - 1, '59m 59s'],
    [2 * hour + 3 * minute, '2h 3m'],
    [day - 1, '23h 59m'],
    [day, '1d 0h'],
    [36 * hour, '1d 12h'],
    [4 * day + hour, '4d 1h'],
  ])('writes %i ms as %j', (ms, text) => {
    expect(age(ms)).toBe(text);
  });

  it('writes a span from a clock ahead of ours as 0s', () => {
    expect(age(-1500)).toBe('0s');
  });
});

describe('bytes', () => {
  it.each([
    [0, '0 KiB'],
    [1536, '2 KiB'],
    [1024 * 1024 - 1, '1024 KiB'],
    [1024 * 1024, '1.0 MiB'],
    [13_002_342, '12.4 MiB'],
  ])('writes %i bytes as %j', (count, text) => {
    expect(bytes(count)).toBe(text);
  });
});

describe('compact', () => {
  it('writes text as is and anything else as JSON, nothing for null or undefined', () => {
    expect(compact('ready')).toBe('ready');
    expect(compact({ port: 8081 })).toBe('{"port":8081}');
    expect(compact(null)).toBe('');
    expect(compact(undefined)).toBe('');
  });

  it(`keeps ${compactLength} characters and shortens a longer value to as many, the last an ellipsis`, () => {
    const exact = 'x'.repeat(compactLength);
    expect(compact(exact)).toBe(exact);
    const shortened = compact({ text: 'y'.repeat(100) });
    expect(shortened).toHaveLength(compactLength);
    expect(shortened).toBe(`${plainText({ text: 'y'.repeat(100) }).slice(0, compactLength - 1)}…`);
  });

  it('leaves the whole value to plainText', () => {
    expect(plainText({ text: 'y'.repeat(100) })).toBe(JSON.stringify({ text: 'y'.repeat(100) }));
  });
});

describe('the module the page shares', () => {
  it('imports nothing: the dashboard serves it to the browser as one file', () => {
    const source = readFileSync(new URL('../../src/format.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/^\s*(import|export .* from)\b/m);
  });
});
