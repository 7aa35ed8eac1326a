import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IngestError } from '../../server/errors.js';
import { loadRegionLevel, loadRegionLevels, parseRegionLevel, validateHierarchy } from '../../server/geo/regions.js';
import { collection, datasetWith, feature, levelOf, multiPolygon, polygon, rect } from './fixtures.js';

const R_KM = 6371.0088;
/** Exact spherical area of a lon-lat rectangle, km². */
const sphericalRectKm2 = (x0: number, y0: number, x1: number, y1: number) =>
  R_KM * R_KM * ((x1 - x0) * Math.PI) / 180 * (Math.sin((y1 * Math.PI) / 180) - Math.sin((y0 * Math.PI) / 180));

/** Runs `fn`, expects an IngestError, returns it. */
function failure(fn: () => unknown): IngestError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IngestError);
    return err as IngestError;
  }
  throw new Error('expected an IngestError, none thrown');
}

describe('parseRegionLevel: properties', () => {
  it('reads COD-AB names, parent and population', () => {
    const level = levelOf(
      collection(
        feature(
          { ADM2_PCODE: 'CI0101', ADM2_EN: 'Abobo', ADM1_PCODE: 'CI01', population: '12345' },
          polygon(rect(0, 0, 1, 1)),
        ),
      ),
      2,
    );
    expect(level.unit).toBe('admin2');
    expect(level.level).toBe(2);
    expect(level.regions[0]).toMatchObject({ pcod: 'CI0101', name: 'Abobo', parent: 'CI01', population: 12345 });
    expect(level.regions[0].bbox).toEqual([0, 0, 1, 1]);
  });

  it.each([
    [1, { admin1Pcode: 'A', admin1Name_en: 'Alpha' }],
    [3, { admin3pcod: 'A', ADM3_NAME: 'Alpha', admin2Pcode: 'P' }],
    [1, { adm1_pcode: 'A', NAME: 'Alpha' }],
    [1, { PCODE: 'A', name: 'Alpha' }],
    [2, { Adm2_PCode: 'A', adm2_en: 'Alpha', ADM1_PCODE: 'P' }],
  ])('accepts aliases at level %i: %j', (n, props) => {
    const r = levelOf(collection(feature(props, polygon(rect(0, 0, 1, 1)))), n).regions[0];
    expect(r.pcod).toBe('A');
    expect(r.name).toBe('Alpha');
    if (n > 1) expect(r.parent).toBe('P');
  });

  it('falls back to the p-code for a missing name, and leaves population out when absent', () => {
    const r = levelOf(collection(feature({ ADM1_PCODE: 'X1' }, polygon(rect(0, 0, 1, 1))))).regions[0];
    expect(r.name).toBe('X1');
    expect(r.population).toBeUndefined();
    expect(r.parent).toBeUndefined();
  });

  it('accepts a numeric population and a numeric p-code', () => {
    const r = levelOf(collection(feature({ pcode: 42, population: 1000 }, polygon(rect(0, 0, 1, 1))))).regions[0];
    expect(r.pcod).toBe('42');
    expect(r.population).toBe(1000);
  });
});

describe('parseRegionLevel: geometry', () => {
  it('closes unclosed rings', () => {
    const open = rect(0, 0, 1, 1).slice(0, 4);
    const r = levelOf(collection(feature({ ADM1_PCODE: 'A' }, polygon(open)))).regions[0];
    expect(r.polygons[0][0]).toEqual(rect(0, 0, 1, 1));
  });

  it('keeps every polygon of a MultiPolygon and every hole', () => {
    const r = levelOf(
      collection(feature({ ADM1_PCODE: 'A' }, multiPolygon([rect(0, 0, 4, 4), rect(1, 1, 2, 2)], [rect(5, 5, 6, 6)]))),
    ).regions[0];
    expect(r.polygons.length).toBe(2);
    expect(r.polygons[0].length).toBe(2);
    expect(r.bbox).toEqual([0, 0, 6, 6]);
  });

  it('computes area in km² within 0.5% of the spherical formula', () => {
    for (const [x0, y0, x1, y1] of [
      [0, 0, 1, 1],
      [10, 50, 11, 51],
      [-4, 5, -3.5, 5.25],
    ]) {
      const r = levelOf(collection(feature({ ADM1_PCODE: 'A' }, polygon(rect(x0, y0, x1, y1))))).regions[0];
      const expected = sphericalRectKm2(x0, y0, x1, y1);
      expect(Math.abs(r.areaKm2 - expected) / expected).toBeLessThan(0.005);
    }
    // 1° x 1° at the equator is about 12,364 km².
    const eq = levelOf(collection(feature({ ADM1_PCODE: 'A' }, polygon(rect(0, 0, 1, 1))))).regions[0];
    expect(eq.areaKm2).toBeCloseTo(12364, -1);
  });

  it('subtracts holes from the area, whatever the ring orientation', () => {
    const cw = (ring: number[][]) => [...ring].reverse();
    const r = levelOf(
      collection(feature({ ADM1_PCODE: 'A' }, polygon(cw(rect(0, 0, 2, 2)), rect(0.5, 0.5, 1.5, 1.5)))),
    ).regions[0];
    const expected = sphericalRectKm2(0, 0, 2, 2) - sphericalRectKm2(0.5, 0.5, 1.5, 1.5);
    expect(Math.abs(r.areaKm2 - expected) / expected).toBeLessThan(0.005);
  });
});

describe('parseRegionLevel: errors name the file and the feature', () => {
  const ok = (pcode: string) => feature({ ADM1_PCODE: pcode }, polygon(rect(0, 0, 1, 1)));
  const parse = (fc: unknown) => () => levelOf(fc, 1, 'regions/admin1.geojson');

  it('rejects invalid JSON', () => {
    const err = failure(() => parseRegionLevel('{', 'regions/admin1.geojson', 1));
    expect(err.message).toMatch(/^regions\/admin1\.geojson: cannot read: expected GeoJSON, found invalid JSON/);
  });

  it('rejects a non-FeatureCollection', () => {
    const err = failure(parse({ type: 'Feature', properties: {}, geometry: null }));
    expect(err.code).toBe('BAD_GEOJSON');
    expect(err.message).toBe(
      "regions/admin1.geojson: expected a GeoJSON FeatureCollection, found an object of type 'Feature'",
    );
  });

  it('rejects a geometry that is not a Polygon or MultiPolygon', () => {
    const point = feature({ ADM1_PCODE: 'B' }, { type: 'Point', coordinates: [0, 0] });
    const err = failure(parse(collection(ok('A'), point)));
    expect(err.code).toBe('BAD_GEOMETRY');
    expect(err.message).toBe(
      "regions/admin1.geojson: feature 1: expected a Polygon or MultiPolygon geometry, found an object of type 'Point'",
    );
  });

  it('rejects a missing geometry', () => {
    const err = failure(parse(collection(feature({ ADM1_PCODE: 'B' }, null))));
    expect(err.message).toBe(
      'regions/admin1.geojson: feature 0: expected a Polygon or MultiPolygon geometry, found null',
    );
  });

  it('rejects a ring of fewer than 4 positions', () => {
    const sliver = feature({ ADM1_PCODE: 'C' }, polygon([[0, 0], [1, 0], [0, 0]]));
    const err = failure(parse(collection(ok('A'), ok('B'), sliver)));
    expect(err.message).toBe(
      'regions/admin1.geojson: feature 2: ring 0: expected a closed ring of at least 4 positions, found 3',
    );
  });

  it('rejects non-numeric coordinates, with the polygon, ring and position', () => {
    const bad = [[0, 0], [1, 0], ['1', 1], [0, 0]] as unknown as number[][]; // as a file may have it
    const geometry = multiPolygon([rect(0, 0, 1, 1)], [rect(2, 2, 3, 3), bad]);
    const err = failure(parse(collection(feature({ ADM1_PCODE: 'A' }, geometry))));
    expect(err.message).toBe(
      "regions/admin1.geojson: feature 0: polygon 1: ring 1, position 2: expected numeric [lon, lat], found ['1', 1]",
    );
  });

  it('rejects projected coordinates', () => {
    const err = failure(parse(collection(feature({ ADM1_PCODE: 'A' }, polygon(rect(400000, 500000, 400100, 500100))))));
    expect(err.message).toMatch(/feature 0: ring 0, position 0: expected WGS84 degrees .* found \[400000, 500000\]/);
  });

  it('rejects a missing p-code, listing the properties found', () => {
    const err = failure(parse(collection(ok('A'), feature({ ADM2_PCODE: 'X', NAME: 'n' }, polygon(rect(0, 0, 1, 1))))));
    expect(err.code).toBe('BAD_REGION');
    expect(err.message).toBe(
      'regions/admin1.geojson: feature 1: expected a p-code property (ADM1_PCODE or one of ' +
        'admin1pcode, admin1pcod, adm1pcode, adm1_pcod, pcode, pcod), found properties [ADM2_PCODE, NAME]',
    );
  });

  it('rejects a duplicate p-code, naming both features', () => {
    const err = failure(parse(collection(ok('A'), ok('B'), ok('A'))));
    expect(err.code).toBe('DUPLICATE_PCODE');
    expect(err.message).toBe(
      "regions/admin1.geojson: feature 2: expected a unique p-code, found 'A' again (first at feature 0)",
    );
  });

  it('rejects a non-numeric population', () => {
    const err = failure(parse(collection(feature({ ADM1_PCODE: 'A', population: 'many' }, polygon(rect(0, 0, 1, 1))))));
    expect(err.message).toBe(
      `regions/admin1.geojson: feature 0: property 'population': expected a non-negative number, found "many"`,
    );
  });
});

describe('loadRegionLevels', () => {
  const admin1 = collection(
    feature({ ADM1_PCODE: 'N', ADM1_EN: 'North' }, polygon(rect(0, 1, 2, 2))),
    feature({ ADM1_PCODE: 'S', ADM1_EN: 'South' }, polygon(rect(0, 0, 2, 1))),
  );
  const admin2 = (parent: string) =>
    collection(
      feature({ ADM2_PCODE: 'N1', ADM1_PCODE: 'N' }, polygon(rect(0, 1, 1, 2))),
      feature({ ADM2_PCODE: 'S1', ADM1_PCODE: parent }, polygon(rect(0, 0, 1, 1))),
    );

  it('finds every admin*.geojson, sorted by level', async () => {
    const dir = await datasetWith({ 'admin2.geojson': admin2('S'), 'admin1.geojson': admin1, 'notes.txt': 'x' });
    const levels = await loadRegionLevels(dir);
    expect(levels.map((l) => l.unit)).toEqual(['admin1', 'admin2']);
    expect(levels[1].regions.map((r) => r.parent)).toEqual(['N', 'S']);
    expect(levels[0].file).toBe(join(dir, 'regions', 'admin1.geojson'));
  });

  it('returns no levels for a dataset without a regions folder', async () => {
    const dir = await datasetWith({});
    expect(await loadRegionLevels(join(dir, 'regions'))).toEqual([]);
  });

  it('rejects a parent p-code absent from the parent level', async () => {
    const dir = await datasetWith({ 'admin1.geojson': admin1, 'admin2.geojson': admin2('E') });
    const err = await loadRegionLevels(dir).then(
      () => undefined,
      (e: unknown) => e as IngestError,
    );
    expect(err?.code).toBe('UNKNOWN_PARENT');
    expect(err?.message).toBe(
      `${join(dir, 'regions', 'admin2.geojson')}: feature 1: expected the parent p-code 'E' to be a region of ` +
        `${join(dir, 'regions', 'admin1.geojson')}, found none`,
    );
  });

  it('validateHierarchy skips a level whose parent level is absent', () => {
    const l1 = levelOf(admin1, 1);
    const l3 = levelOf(collection(feature({ ADM3_PCODE: 'x', ADM2_PCODE: 'nowhere' }, polygon(rect(0, 0, 1, 1)))), 3);
    expect(() => validateHierarchy([l1, l3])).not.toThrow();
  });

  it('names a missing file', async () => {
    const err = await loadRegionLevel('/nonexistent/admin1.geojson', 1).then(
      () => undefined,
      (e: unknown) => e as IngestError,
    );
    expect(err?.code).toBe('MISSING_FILE');
    expect(err?.message).toMatch(/^\/nonexistent\/admin1\.geojson: /);
  });
});
