import { describe, expect, it } from 'vitest';
import { centroid, haversineKm, polygonMoments } from '../../server/geo/geometry.js';
import { packLevel, pointInPackedPolygon } from '../../server/geo/packed.js';
import { collection, feature, levelOf, multiPolygon, polygon, rect } from './fixtures.js';

describe('haversineKm', () => {
  it('gives Paris-London about 343.5 km', () => {
    expect(haversineKm(2.3522, 48.8566, -0.1276, 51.5072)).toBeCloseTo(343.5, 0);
  });

  it('gives a quarter meridian and half the equator from R = 6371.0088 km', () => {
    expect(haversineKm(0, 0, 0, 90)).toBeCloseTo((Math.PI / 2) * 6371.0088, 6);
    expect(haversineKm(-90, 0, 90, 0)).toBeCloseTo(Math.PI * 6371.0088, 6);
    expect(haversineKm(3, 4, 3, 4)).toBe(0);
  });

  it('is symmetric', () => {
    expect(haversineKm(-4.03, 5.33, -5.28, 6.82)).toBeCloseTo(haversineKm(-5.28, 6.82, -4.03, 5.33), 12);
  });
});

describe('centroid', () => {
  it('is the centre of a square, whatever its orientation', () => {
    expect(centroid({ polygons: [[rect(2, 3, 4, 7)]] })).toEqual([3, 5]);
    expect(centroid({ polygons: [[[...rect(2, 3, 4, 7)].reverse()]] })).toEqual([3, 5]);
  });

  it('weights by area and subtracts holes', () => {
    // [0,4]x[0,2] minus the hole [0.5,1.5]x[0.5,1.5]: area 7, centroid pulled right.
    const m = polygonMoments([rect(0, 0, 4, 2), rect(0.5, 0.5, 1.5, 1.5)]);
    expect(m.area).toBeCloseTo(7, 12);
    expect(m.lon).toBeCloseTo((8 * 2 - 1 * 1) / 7, 12);
    expect(m.lat).toBeCloseTo(1, 12);
  });

  it('uses the largest polygon of a multipolygon', () => {
    expect(centroid({ polygons: [[rect(10, 10, 11, 11)], [rect(0, 0, 4, 4)]] })).toEqual([2, 2]);
  });
});

describe('packLevel', () => {
  it('lays out regions, polygons, rings and positions as CSR arrays', () => {
    const level = levelOf(
      collection(
        feature({ ADM1_PCODE: 'A' }, polygon(rect(0, 0, 4, 4), rect(1, 1, 2, 2))),
        feature({ ADM1_PCODE: 'B' }, multiPolygon([rect(5, 0, 6, 1)], [rect(7, 0, 8, 1)])),
      ),
    );
    const pk = packLevel(level);
    expect([pk.nRegions, pk.nPolys, pk.nRings, pk.nPositions]).toEqual([2, 3, 4, 20]);
    expect(Array.from(pk.regionPolyStart)).toEqual([0, 1, 3]);
    expect(Array.from(pk.polyRegion)).toEqual([0, 1, 1]);
    expect(Array.from(pk.polyRingStart)).toEqual([0, 2, 3, 4]);
    expect(Array.from(pk.ringStart)).toEqual([0, 5, 10, 15, 20]);
    expect(Array.from(pk.coords.subarray(2 * 10, 2 * 10 + 4))).toEqual([5, 0, 6, 0]);
    expect(Array.from(pk.polyBbox.subarray(8, 12))).toEqual([7, 0, 8, 1]);
    expect(Array.from(pk.bbox)).toEqual([0, 0, 8, 4]);
    expect(pointInPackedPolygon(pk, 0, 0.5, 0.5)).toBe(true);
    expect(pointInPackedPolygon(pk, 0, 1.5, 1.5)).toBe(false);
    expect(pointInPackedPolygon(pk, 2, 7.5, 0.5)).toBe(true);
  });
});
