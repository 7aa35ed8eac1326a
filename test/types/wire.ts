/**
 * The wire contract (server/service/wire.ts) imports nothing, so that the
 * dashboard can compile it under its own tsconfig; the service's producers
 * keep their own, stricter types. These lines tie the two: the build
 * (npm run build:ts compiles this file) fails the day a producer sends a shape
 * the page's contract does not describe.
 */
import type { FlowValue, IndicatorResult, RegionValue } from '../../server/indicators/compute.js';
import type * as Wire from '../../server/service/wire.js';

declare const indicator: IndicatorResult;
declare const region: RegionValue;
declare const flow: FlowValue;

export const indicatorOnTheWire: Wire.IndicatorResult = indicator;
export const regionOnTheWire: Wire.RegionValue = region;
export const flowOnTheWire: Wire.FlowValue = flow;
