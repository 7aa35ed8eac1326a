// The kernel module's exports: every family, by name. Explicit lists rather than
// `export *`, so that a family's inline helpers never become exports.
//
// Kernels never allocate and carry no static data: all memory is the host's,
// passed as byte offsets, so any number of instances (one per worker thread)
// can run on one shared memory. Loads and stores are plain, not atomic:
// instances running at the same time must write disjoint outputs, drop
// counters and tables (the host sums per-worker outputs afterwards).

export { partitionDay, partitionHistogramBytes, gather8, gather32, gather64, localise } from './sort';
export { tableBytes, tableClear, tableRehash, tableUsed, tableConsumed } from './hash';
export { lastLocation, countLocations, pickMostCommon, pickMostDays, tableKeys, tableEvents } from './locate';
export { countByLocation, countPairs, countEventsByBucket, markSubLocations, countSubLocations } from './count';
export { modalLocation, majorityLocation, coalesceLocation } from './dwell';
export {
  eventCountBytes, countEvents, finishEventCount, nocturnalBytes, countNocturnal, finishNocturnal,
  activePeriodsBytes, countActivePeriods, finishActivePeriods,
  gyrationBytes, gyrationSums, gyrationCentroids, gyrationSpread, finishGyration,
  displacementValues, topupValues, countPerSub,
  contactTableBytes, contactTableClear, contactTableRehash, contactTableUsed, contactTableConsumed, countContacts, finishDegree,
  paretoScratchBytes, finishPareto,
} from './metrics';
export { groupStatsBytes, groupOffsetsBytes, groupSums, groupSpread, groupFinish, groupOrder, groupFinishOrdered, groupPairs, histogram } from './stats';
export {
  visitTableBytes, visitTableClear, visitTableRehash, visitTableUsed, visitTableConsumed, countVisits, tripsScratchBytes, countTrips,
  countConsecutivePairs, countConsecutiveTrips, unmovingCounts, unmovingAtReferenceCounts, activeAtReferenceCounts,
} from './od';
export {
  keySetBytes, keySetClear, keySetRehash, keySetUsed, keySetConsumed, countEventsAndSubscribersByBucket,
  cellBitsBytes, markCellsByPeriod, orBits, countCellsByPeriod,
} from './buckets';
export {
  meaningfulTableBytes, meaningfulTableClear, meaningfulTableRehash, meaningfulTableUsed, meaningfulTableConsumed, meaningfulAccumulate, meaningfulEntries,
} from './meaningful';
export { gatherLocated, mostCommonScratchBytes, mostCommonBySub } from './mode';
export {
  csvStateBytes, csvInit, csvRows, csvMemoBytes, csvMemoInsert, csvMemoRehash, csvSubsBytes, csvSubscriber, csvOtherSubscriber, csvSubsRehash, csvLearn, csvKnow,
} from './csv';
export { hmacContextBytes, hmacMany } from './hmac';
