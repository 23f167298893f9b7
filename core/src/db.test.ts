// parseTimestamptz (db.ts) reads what PostgreSQL writes for a timestamptz exactly as node-postgres's
// own parser does: every instant, in whole and fractional seconds, in UTC and in zones with odd
// offsets, and the forms it hands on (BC, infinity, microseconds).
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from './db.js';

const reference = pg.types.getTypeParser(1184, 'text') as (text: string) => Date | number;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The text PostgreSQL sends for `instant` with the session's zone `offsetMinutes` east of UTC. */
function pgText(instant: number, offsetMinutes: number): string {
  const d = new Date(instant + offsetMinutes * 60_000);
  const ms = d.getUTCMilliseconds();
  const fraction = ms ? `.${pad(ms, 3)}`.replace(/0+$/, '') : '';
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone = `${sign}${pad(Math.floor(abs / 60))}${abs % 60 ? `:${pad(abs % 60)}` : ''}`;
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction}${zone}`;
}

describe('parseTimestamptz', () => {
  it('reads every instant as node-postgres does, in UTC and other zones', () => {
    let seed = 7;
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let i = 0; i < 5000; i++) {
      const instant = Math.floor(random() * 4102444800000); // 1970–2100
      const whole = i % 3 === 0 ? instant - (instant % 1000) : instant;
      for (const offset of [0, 60, -300, 330, 345, -570, 840]) {
        const text = pgText(whole, offset);
        expect(parseTimestamptz(text).getTime(), text).toBe((reference(text) as Date).getTime());
        expect(parseTimestamptz(text).getTime(), text).toBe(whole);
      }
    }
  });

  it('hands what it does not read to node-postgres: BC, infinity, microseconds, second offsets', () => {
    for (const text of ['0044-03-15 12:00:00+00 BC', 'infinity', '-infinity', '2026-12-04 11:20:47.123456+00', '1890-01-01 00:00:00+00:53:28', '0099-01-01 00:00:00+00']) {
      const ours = parseTimestamptz(text);
      const theirs = reference(text);
      expect(typeof ours === 'number' ? ours : ours.getTime(), text).toEqual(typeof theirs === 'number' ? theirs : theirs.getTime());
    }
  });
});
