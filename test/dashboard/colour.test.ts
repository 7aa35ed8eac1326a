/**
 * The choropleth's classes (server/dashboard/colour.ts), against classes
 * worked out by hand: none for nothing published, one for one value, up to
 * five runs of equal numbers of distinct values, diverging around 0, and the
 * abnormality score's fixed bands. And the protection block read defensively.
 */
import { describe, expect, it } from 'vitest';
import { colourScale } from '../../server/dashboard/colour.js';
import { describePrivacy, intervalOf, readPrivacy } from '../../server/dashboard/privacy.js';

const ranges = (values: number[], kind: 'sequential' | 'diverging' | 'abnormality') => colourScale(values, kind)!.classes.map((c) => [c.min, c.max, c.count]);

describe('colour classes', () => {
  it('has no scale when nothing is published', () => {
    expect(colourScale([], 'sequential')).toBeNull();
    expect(colourScale([], 'diverging')).toBeNull();
  });

  it('makes one class for one value, however many regions have it', () => {
    expect(ranges([1_012_799, 1_012_799, 1_012_799], 'sequential')).toEqual([[1_012_799, 1_012_799, 3]]);
  });

  it('makes as many classes as distinct values up to five, each labelled by the values in it', () => {
    expect(ranges([300, 100, 200], 'sequential')).toEqual([
      [100, 100, 1],
      [200, 200, 1],
      [300, 300, 1],
    ]);
    // Ten distinct values in five runs of two.
    expect(ranges([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10], 'sequential')).toEqual([
      [1, 2, 2],
      [3, 4, 2],
      [5, 6, 2],
      [7, 8, 2],
      [9, 10, 3],
    ]);
    const s = colourScale([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'sequential')!;
    expect(s.colour(10)).toBe(s.classes[4]!.colour);
    expect(s.colour(2.5)).toBe(s.classes[0]!.colour); // between classes: the lower one
  });

  it('diverges around 0: negatives, a class of exactly 0, positives, the darkest furthest from 0', () => {
    const s = colourScale([-40, -10, 0, 0, 5, 50, 60, 70], 'diverging')!;
    expect(s.classes.map((c) => [c.min, c.max, c.count])).toEqual([
      [-40, -40, 1],
      [-10, -10, 1],
      [0, 0, 2],
      [5, 5, 1],
      [50, 50, 1],
      [60, 70, 2],
    ]);
    expect(s.classes.map((c) => c.colour)).toEqual(['#b2182b', '#fddbc7', '#f7f7f7', '#d1e5f0', '#67a9cf', '#2166ac']);
    expect(s.colour(-1)).toBe('#fddbc7');
    expect(s.colour(0)).toBe('#f7f7f7');
    expect(s.colour(1)).toBe('#d1e5f0');
  });

  it('classes abnormality scores by the usual band (within ±2) and beyond', () => {
    const s = colourScale([-12.5, -2, 0.3, 1.9, 2, 7], 'abnormality')!;
    expect(s.classes.map((c) => [c.label, c.count])).toEqual([
      ['−5 or below', 1],
      ['−5 to −2', 1],
      ['within ±2 (usual)', 2],
      ['2 to 5', 1],
      ['5 or above', 1],
    ]);
    expect(colourScale([0.1, -0.4], 'abnormality')!.classes.map((c) => c.label)).toEqual(['within ±2 (usual)']);
  });
});

describe('the protection block', () => {
  it('is read defensively: absent, unknown or ill-typed parts are ignored', () => {
    expect(readPrivacy(undefined)).toBeNull();
    expect(readPrivacy({ mode: 'laplace' })).toBeNull();
    expect(readPrivacy({ mode: 'threshold', k: 'fifteen' })).toEqual({ mode: 'threshold', k: 15 });
    expect(readPrivacy({ mode: 'dp', k: 15, epsilon: 1, interval95: 'wide', budget: { spent: 1 } })).toEqual({ mode: 'dp', k: 15, epsilon: 1 });
  });

  it('gives each value its 95% half-width, one for all or per region', () => {
    const one = readPrivacy({ mode: 'dp', k: 15, interval95: 12.5 });
    expect(intervalOf(one, 'XX01')).toBe(12.5);
    const each = readPrivacy({ mode: 'dp', k: 15, interval95: { XX01: 4, XX02: 'x' } });
    expect(intervalOf(each, 'XX01')).toBe(4);
    expect(intervalOf(each, 'XX02')).toBeNull();
    expect(intervalOf(readPrivacy({ mode: 'threshold', k: 15, interval95: 3 }), 'XX01')).toBeNull();
  });

  it('says what protects the values and the budget left', () => {
    expect(describePrivacy(readPrivacy({ mode: 'threshold', k: 20 }))).toBe('Protection: values of 20 or fewer withheld.');
    expect(describePrivacy(readPrivacy({ mode: 'dp', k: 15, epsilon: 0.5, mechanism: 'gaussian', interval95: 30, budget: { spent: 1.5, remaining: 8.5, period: 'month' } }))).toBe(
      'Protection: differential privacy (ε = 0.5, gaussian mechanism); values of 15 or fewer withheld. Values are approximate: each ± 30 (95%). Budget left: 8.5 of 10 this month.',
    );
  });
});
