import { describe, expect, it } from 'vitest';
import { candidateNameStem, orderFor, parseCandidateName, queueOrder } from '../../src/candidate.js';
import { isNameOf, validateRecipe } from '../../src/recipes.js';

const guid = '0123456789abcdef0123456789abcdef';
const dashedGuid = '01234567-89ab-cdef-0123-456789abcdef';

describe('recipes: names as the peers write them', () => {
  it('names a candidate the way each library does', () => {
    expect(candidateNameStem('web_', guid, 'zk-leader')).toBe(`web_${guid}-n_`);
    expect(candidateNameStem('', guid, 'curator-latch')).toBe(`_c_${dashedGuid}-latch-`);
    expect(candidateNameStem('', guid, 'curator-selector')).toBe(`_c_${dashedGuid}-lock-`);
    expect(candidateNameStem('', guid, 'kazoo')).toBe(`${guid}__lock__`);
    for (const recipe of ['zk-leader', 'curator-latch', 'curator-selector', 'kazoo'] as const) {
      expect(isNameOf(`${candidateNameStem('', guid, recipe)}0000000007`, guid)).toBe(true);
    }
  });

  it('reads every recipe, whatever its own', () => {
    expect(parseCandidateName(`_c_${dashedGuid}-latch-0000000003`)).toMatchObject({ recipe: 'curator-latch', sequence: 3 });
    expect(parseCandidateName(`_c_${dashedGuid}-lock-0000000004`)).toMatchObject({ recipe: 'curator-selector', sequence: 4 });
    expect(parseCandidateName(`${guid}__lock__0000000005`)).toMatchObject({ recipe: 'kazoo', sequence: 5 });
    expect(parseCandidateName(`${guid}__lock__-2147483648`)).toMatchObject({ recipe: 'kazoo', sequence: -2147483648, sequenceText: '-2147483648' });
    // Curator without protection, kazoo's read-lock nodes, other programs: not candidates.
    expect(parseCandidateName('latch-0000000001')).toBeNull();
    expect(parseCandidateName(`${guid}__rlock__0000000001`)).toBeNull();
    expect(queueOrder(['lock-0000000009']).foreign).toEqual([{ name: 'lock-0000000009', sequence: 9, sequenceText: '0000000009' }]);
  });

  it("orders a peers' queue as they do: after the wrap, '-' sorts before the digits", () => {
    const kazoo = (sequence: string) => `${guid}__lock__${sequence}`;
    const children = [kazoo('2147483647'), kazoo('-2147483648'), kazoo('-2147483647'), kazoo('2147483646')];
    // kazoo sorts on the sequence text (lock.py), Curator with String.compareTo: the same order.
    expect(queueOrder(children, 'peer').candidates.map((c) => c.sequenceText)).toEqual(['-2147483647', '-2147483648', '2147483646', '2147483647']);
    // zk-leader's own recipe keeps creation order across the wrap.
    expect(queueOrder(children, 'creation').candidates.map((c) => c.sequenceText)).toEqual(['2147483646', '2147483647', '-2147483648', '-2147483647']);
    expect(orderFor('kazoo')).toBe('peer');
    expect(orderFor('zk-leader')).toBe('creation');
    // Read without a recipe of its own (an observer, the CLI): a peers' queue in the peers' order.
    expect(queueOrder(children).candidates[0]!.sequenceText).toBe('-2147483647');
  });

  it('refuses an unknown recipe in one line', () => {
    expect(validateRecipe(undefined)).toBe('zk-leader');
    expect(() => validateRecipe('curator')).toThrow(
      "recipe must be one of 'zk-leader', 'curator-latch', 'curator-selector', 'kazoo', 'single-node': got \"curator\"",
    );
  });
});
