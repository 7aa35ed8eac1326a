/** What a store holds, for `opalite info` and operators. */
import type { Store } from './reader.js';

export interface StoreSummary {
  version: number;
  name?: string;
  timezone: string;
  days: { date: string; rows: number; calls: number; sms: number; mds: number; topups: number; unlocated: number }[];
  rows: number;
  bytes: number;
  bytesPerEvent: number;
  subscribers: number;
  cells: number;
  cellVersions: number;
  levels: { unit: string; regions: number; cellsUnlocated: number }[];
}

export function summarise(store: Store): StoreSummary {
  const m = store.manifest;
  const { cells, regions } = store.dims();
  const days = store.days().map((date) => {
    const d = m.days[date]!;
    return { date, rows: d.rows, calls: d.types[0]!, sms: d.types[1]!, mds: d.types[2]!, topups: d.types[3]!, unlocated: d.unlocated };
  });
  const rows = days.reduce((n, d) => n + d.rows, 0);
  const bytes = Object.values(m.days).reduce((n, d) => n + Object.values(d.columns).reduce((k, c) => k + c.bytes, 0), 0);
  return {
    version: m.version,
    name: m.name,
    timezone: m.timezone,
    days,
    rows,
    bytes,
    bytesPerEvent: rows ? bytes / rows : 0,
    subscribers: m.subscribers,
    cells: m.cells,
    cellVersions: cells.versions.length,
    levels: regions.map((level) => ({
      unit: level.unit,
      regions: level.regions.length,
      cellsUnlocated: Array.from(cells.regions[level.unit] ?? []).filter((r) => r < 0).length,
    })),
  };
}
