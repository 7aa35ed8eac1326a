import { describe, expect, it } from 'vitest';
import { civilDays, dateToDay, dayToDate, parseDateTime, parseDateTimeBytes, TimezoneOffsets } from '../../server/util/datetime.js';
import { rng } from './rng.js';

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
  it('reads the forms docs/DATA.md allows', () => {
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

/** The string parser as it was before times were parsed from bytes: the reference for the byte parser. */
function referenceParse(s: string, tz: TimezoneOffsets): number {
  const digits = (from: number, count: number) => {
    let v = 0;
    for (let i = from; i < from + count; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return -1;
      v = v * 10 + c;
    }
    return v;
  };
  const n = s.length;
  if (n < 10 || s[4] !== '-' || s[7] !== '-') return NaN;
  const y = digits(0, 4);
  const mo = digits(5, 2);
  const d = digits(8, 2);
  if (y < 1970 || y >= 2106 || mo < 0 || d < 0) return NaN;
  const day = civilDays(y, mo, d);
  if (day < 0) return NaN;
  let secs = day * 86400;
  let i = 10;
  if (i < n && (s[i] === 'T' || s[i] === ' ')) {
    if (i + 6 > n || s[i + 3] !== ':') return NaN;
    const hh = digits(i + 1, 2);
    const mm = digits(i + 4, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return NaN;
    secs += hh * 3600 + mm * 60;
    i += 6;
    if (i < n && s[i] === ':') {
      const ss = digits(i + 1, 2);
      if (ss < 0 || ss > 60 || i + 3 > n) return NaN;
      secs += Math.min(ss, 59);
      i += 3;
      if (i < n && (s[i] === '.' || s[i] === ',')) {
        i++;
        const start = i;
        while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
        if (i === start) return NaN;
      }
    }
  }
  if (i === n) return secs;
  let offset: number;
  if (s[i] === 'Z' && i + 1 === n) offset = 0;
  else if (s[i] === '+' || s[i] === '-') {
    const m = /^(\d{2})(?::?(\d{2}))?$/.exec(s.slice(i + 1));
    if (!m) return NaN;
    const oh = Number(m[1]);
    const om = Number(m[2] ?? '0');
    if (oh > 18 || om > 59) return NaN;
    offset = (s[i] === '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else return NaN;
  return tz.toLocal(secs - offset);
}

describe('parseDateTimeBytes', () => {
  it('agrees with the string reference on 20k mutated times, read from the middle of a larger buffer', () => {
    const r = rng(9);
    const tz = new TimezoneOffsets('Europe/Paris');
    const seeds = ['2016-01-01T08:15:02Z', '2016-02-29 23:59:60.5', '2016-03-27T02:30:00+05:30', '2105-12-31 00:00', '2016-01-01T08:15:02-0500', '1970-01-01'];
    const alphabet = '0123456789-:T Z+.,x\u00e9\u0130';
    let agreed = 0;
    for (let k = 0; k < 20_000; k++) {
      let s = seeds[k % seeds.length]!;
      for (let m = Math.floor(r() * 3); m > 0; m--) {
        const at = Math.floor(r() * (s.length + 1));
        const c = alphabet[Math.floor(r() * alphabet.length)]!;
        const roll = r();
        s = roll < 0.5 ? s.slice(0, at) + c + s.slice(at + 1) : roll < 0.75 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + c + s.slice(at);
      }
      const expected = referenceParse(s, tz);
      expect(parseDateTime(s, tz), s).toBe(expected);
      if (!/[^\x00-\x7f]/.test(s)) {
        const buf = Buffer.from(`99${s}99`, 'latin1');
        expect(parseDateTimeBytes(buf, 2, 2 + s.length, tz), s).toBe(expected);
      }
      if (!Number.isNaN(expected)) agreed++;
    }
    expect(agreed).toBeGreaterThan(3000);
  });
});
