/** disclosure.ts at its boundaries: threshold, resident floor, differencing, rounding. */
import { describe, expect, it } from 'vitest';
import { discloseCount, discloseDensity, discloseDifference, discloseFlow, disclosureConfig, roundTo } from '../../server/indicators/disclosure.js';

const cfg = disclosureConfig();
const exact = disclosureConfig({ residentFloor: 0, rounding: { people: 1, relocations: 1, density: 1, difference: 1 } });

describe('configuration', () => {
  it('defaults: k 15, floor 200, people to 100, the rest to 10', () => {
    expect(cfg).toEqual({ k: 15, residentFloor: 200, rounding: { people: 100, relocations: 10, density: 10, difference: 10 }, tripSupport: 'sum' });
  });
  it('k can be raised, never lowered; steps must be positive', () => {
    expect(disclosureConfig({ k: 20 }).k).toBe(20);
    expect(() => disclosureConfig({ k: 14 })).toThrow(/k must be/);
    expect(() => disclosureConfig({ k: 0 })).toThrow(/k must be/);
    expect(() => disclosureConfig({ rounding: { people: 0 } })).toThrow(/rounding/);
  });
});

describe('threshold', () => {
  it('15 withheld, 16 kept', () => {
    expect(discloseCount(exact, { value: 15, residents: 1000, rounding: 'people' })).toEqual({ value: null, withheld: 'threshold' });
    expect(discloseCount(exact, { value: 16, residents: 1000, rounding: 'people' })).toEqual({ value: 16 });
    // Zero, and a region absent from a thresholded source, carry the same reason as 1..15 (issue #13).
    expect(discloseCount(exact, { value: 0, residents: 1000, rounding: 'people' })).toEqual({ value: null, withheld: 'threshold' });
    expect(discloseCount(exact, { value: undefined, residents: 1000, rounding: 'people' }).withheld).toBe('threshold');
    expect(discloseFlow(exact, { value: undefined, residentsFrom: 1000, residentsTo: 1000 }).withheld).toBe('threshold');
  });
  it('is decided on the unscaled support, not the scaled value', () => {
    expect(discloseCount(exact, { value: 15_000, support: 15, residents: 1000, rounding: 'people' }).withheld).toBe('threshold');
    expect(discloseCount(exact, { value: 16_000, support: 16, residents: 1000, rounding: 'people' }).value).toBe(16_000);
  });
  it('a flow of 15 is withheld, 16 kept', () => {
    expect(discloseFlow(exact, { value: 15, residentsFrom: 1000, residentsTo: 1000 }).withheld).toBe('threshold');
    expect(discloseFlow(exact, { value: 16, residentsFrom: 1000, residentsTo: 1000 }).value).toBe(16);
  });
});

describe('resident floor', () => {
  it('199 residents withheld, 200 kept (default floor)', () => {
    expect(discloseCount(cfg, { value: 1000, residents: 199, rounding: 'people' })).toEqual({ value: null, withheld: 'resident-floor' });
    expect(discloseCount(cfg, { value: 1000, residents: 200, rounding: 'people' })).toEqual({ value: 1000 });
    expect(discloseCount(cfg, { value: 1000, residents: undefined, rounding: 'people' }).withheld).toBe('resident-floor');
  });
  it('applies at both ends of a flow', () => {
    expect(discloseFlow(cfg, { value: 100, residentsFrom: 199, residentsTo: 500 }).withheld).toBe('resident-floor');
    expect(discloseFlow(cfg, { value: 100, residentsFrom: 500, residentsTo: 199 }).withheld).toBe('resident-floor');
    expect(discloseFlow(cfg, { value: 100, residentsFrom: 200, residentsTo: 200 }).value).toBe(100);
  });
  it('is configurable, and 0 switches it off', () => {
    const low = disclosureConfig({ residentFloor: 50 });
    expect(discloseCount(low, { value: 60, residents: 49, rounding: 'relocations' }).withheld).toBe('resident-floor');
    expect(discloseCount(low, { value: 60, residents: 50, rounding: 'relocations' }).value).toBe(60);
    expect(discloseCount(exact, { value: 60, residents: undefined, rounding: 'relocations' }).value).toBe(60);
  });
});

describe('rounding', () => {
  it('people to 100, relocations to 10; half away from zero', () => {
    expect(roundTo(649, 100)).toBe(600);
    expect(roundTo(650, 100)).toBe(700);
    expect(roundTo(-650, 100)).toBe(-700);
    expect(roundTo(44, 10)).toBe(40);
    expect(roundTo(45, 10)).toBe(50);
    expect(roundTo(-4, 10)).toBe(0);
    expect(Object.is(roundTo(-4, 10), -0)).toBe(false);
    expect(roundTo(0.123456, 0.01)).toBe(0.12);
    expect(discloseCount(cfg, { value: 1234, residents: 500, rounding: 'people' }).value).toBe(1200);
    expect(discloseCount(cfg, { value: 1234, residents: 500, rounding: 'relocations' }).value).toBe(1230);
  });
  it('a count that rounds to 15 or less is withheld', () => {
    expect(discloseCount(cfg, { value: 49, residents: 500, rounding: 'people' }).withheld).toBe('rounded-to-threshold');
    expect(discloseCount(cfg, { value: 50, residents: 500, rounding: 'people' }).value).toBe(100);
    expect(discloseCount(cfg, { value: 16, residents: 500, rounding: 'relocations' }).value).toBe(20);
    expect(discloseFlow(disclosureConfig({ rounding: { relocations: 100 } }), { value: 40, residentsFrom: 500, residentsTo: 500 }).withheld).toBe('rounded-to-threshold');
  });
  it('densities come from the published count', () => {
    const pub = discloseCount(cfg, { value: 1234, residents: 500, rounding: 'people' });
    expect(discloseDensity(cfg, pub, 2)).toEqual({ value: 600 });
    expect(discloseDensity(cfg, { value: null, withheld: 'threshold' }, 2)).toEqual({ value: null, withheld: 'threshold' });
    expect(discloseDensity(cfg, pub, 0).value).toBeNull();
  });
});

describe('differencing check', () => {
  const base = { termsPublished: true, residents: 500 };
  it('a difference of 15 or less is withheld even when both terms are published', () => {
    expect(discloseDifference(exact, { ...base, minuend: 100, subtrahend: 85 })).toEqual({ value: null, withheld: 'differencing' });
    expect(discloseDifference(exact, { ...base, minuend: 85, subtrahend: 100 }).withheld).toBe('differencing');
    expect(discloseDifference(exact, { ...base, minuend: 100, subtrahend: 84 })).toEqual({ value: 16 });
    expect(discloseDifference(exact, { ...base, minuend: 84, subtrahend: 100 })).toEqual({ value: -16 });
  });
  it('is withheld when either term is, and rounded to 10', () => {
    expect(discloseDifference(cfg, { ...base, termsPublished: false, minuend: 500, subtrahend: 100 }).withheld).toBe('differencing');
    expect(discloseDifference(cfg, { ...base, minuend: 523, subtrahend: 100 }).value).toBe(420);
    expect(discloseDifference(cfg, { ...base, residents: 10, minuend: 523, subtrahend: 100 }).withheld).toBe('resident-floor');
  });
});
