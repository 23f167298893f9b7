// Keep-in-sync migrations, the pure rules (core/src/migration/sync.ts): the interval's range, its
// delay, which run verifies and which one ends the migration. The behaviour on real servers is in
// e2e/mailstack/migration-sync.test.ts.
import { describe, expect, it } from 'vitest';
import { isFinalRun, syncDelaySeconds, syncIntervalProblem, verifiesRun } from '@mailpanel/core/migration/sync';

describe('keep-in-sync rules', () => {
  it('the interval is a whole number of minutes from 5 to 1440', () => {
    for (const ok of [5, 15, 60, 1440]) expect(syncIntervalProblem(ok), String(ok)).toBeNull();
    for (const bad of [4, 0, -5, 1441, 7.5, Number.NaN]) expect(syncIntervalProblem(bad), String(bad)).toMatch(/between 5 and 1440/);
  });

  it('the delay is the interval in seconds (a shortened "minute" in tests), never under a second', () => {
    expect(syncDelaySeconds(15)).toBe(900);
    expect(syncDelaySeconds(5, 0.6)).toBe(3);
    expect(syncDelaySeconds(5, 0.1)).toBe(1);
  });

  it('a one-time migration: its run is final and verified', () => {
    const k = { syncIntervalMinutes: null, syncRun: false, finishRequested: false };
    expect(isFinalRun(k)).toBe(true);
    expect(verifiesRun(k)).toBe(true);
  });

  it('sync mode: the first copy is verified but not final; a sync is neither; the sync after finish is both', () => {
    const first = { syncIntervalMinutes: 15, syncRun: false, finishRequested: false };
    expect([isFinalRun(first), verifiesRun(first)]).toEqual([false, true]);
    // Finish pressed during the first copy: that copy still ends in IDLE; the last sync follows at once.
    expect(isFinalRun({ ...first, finishRequested: true })).toBe(false);
    const sync = { syncIntervalMinutes: 15, syncRun: true, finishRequested: false };
    expect([isFinalRun(sync), verifiesRun(sync)]).toEqual([false, false]);
    const last = { ...sync, finishRequested: true };
    expect([isFinalRun(last), verifiesRun(last)]).toEqual([true, true]);
  });
});
