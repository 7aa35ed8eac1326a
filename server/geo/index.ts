/**
 * Administrative boundaries and the tower-to-region assignment: load the
 * levels of a dataset, then ask which region of a level holds each point.
 *
 *   const levels = await loadRegionLevels(datasetDir);
 *   const regionOfCell = assignPoints(levels[0], cellLon, cellLat); // -1: unlocated
 */

export { loadRegionLevel, loadRegionLevels, parseRegionLevel, validateHierarchy } from './regions.js';
export type { Region, RegionLevel } from './regions.js';
export { assignPoints, assignPointsBrute, levelIndex, pointInPolygon, pointInRegion } from './pip.js';
export { packLevel, type PackedLevel } from './packed.js';
export { buildGridIndex, locate, type GridIndex, type GridOptions } from './grid.js';
export { areaKm2, centroid, haversineKm, EARTH_RADIUS_KM } from './geometry.js';
