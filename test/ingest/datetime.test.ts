import { describe, expect, it } from 'vitest';
import { civilDays, dateToDay, dayToDate, parseDateTime, TimezoneOffsets } from '../../server/ingest/datetime.js';

const utc = new TimezoneOffsets('UTC');

describe('civilDays', () => {
  it('agrees with Date.UTC on every day from 1970 to 2105', () => {
    for (let ms = 0; ms < Date.UTC(2106, 0, 1); ms += 86400_000 * 7 + 3_600_000) {
      const d = new Date(ms);
      const expected = Math.floor(ms / 86400_000);
      expect(civilDays(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())).toBe(expected);
    }
  });
  it('rejects dates that do not exist', () => {
    expect(dateToDay('2015-02-29')).toBe(-1);
    expect(dateToDay('2016-02-29')).toBe(civilDays(2016, 2, 29));
    expect(dateToDay('2016-13-01')).toBe(-1);
    expect(dayToDate(dateToDay('2016-02-29'))).toBe('2016-02-29');
  });
});

describe('parseDateTime', () => {
  const at = (s: string) => Date.UTC(2016, 0, 1, 8, 15, 2) / 1000 + (s === '' ? 0 : 0);
  it('reads the forms DATA.md allows', () => {
    expect(parseDateTime('2016-01-01T08:15:02Z', utc)).toBe(at(''));
    expect(parseDateTime('2016-01-01 08:15:02', utc)).toBe(at(''));
    expect(parseDateTime('2016-01-01T08:15:02.999', utc)).toBe(at(''));
    expect(parseDateTime('2016-01-01T09:15:02+01:00', utc)).toBe(at(''));
    expect(parseDateTime('2016-01-01T03:15:02-0500', utc)).toBe(at(''));
    expect(parseDateTime('2016-01-01 08:15', utc)).toBe(at('') - 2);
    expect(parseDateTime('2016-01-01', utc)).toBe(Date.UTC(2016, 0, 1) / 1000);
  });
  it('rejects what is not a time', () => {
    for (const s of ['', '2016-1-1', '2016-01-01X08', '2016-01-32 00:00:00', '2016-01-01 25:00:00', 'yesterday', '1969-12-31 23:59:59', '2016-01-01T08:15:02+25:00']) {
      expect(parseDateTime(s, utc), s).toBeNaN();
    }
  });
  it('keeps a time without offset as local, and converts one with an offset to the dataset zone', () => {
    const kabul = new TimezoneOffsets('Asia/Kabul'); // UTC+4:30, no DST
    expect(parseDateTime('2016-01-01 08:15:02', kabul)).toBe(at(''));
    expect(parseDateTime('2016-01-01T03:45:02Z', kabul)).toBe(at(''));
  });
  it('follows daylight saving time when converting instants', () => {
    const paris = new TimezoneOffsets('Europe/Paris');
    // 12:00Z is 13:00 in winter, 14:00 in summer.
    expect(parseDateTime('2016-01-15T12:00:00Z', paris) % 86400).toBe(13 * 3600);
    expect(parseDateTime('2016-07-15T12:00:00Z', paris) % 86400).toBe(14 * 3600);
  });
});
