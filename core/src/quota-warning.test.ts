import { describe, expect, it } from 'vitest';
import { nextWarning, quotaWarningMail, warningLevel } from './quota-warning.js';

const MB = 1024 * 1024;

describe('quota warnings', () => {
  it('the highest threshold reached; none without a limit', () => {
    expect(warningLevel(79.9 * MB, 100, [80, 95])).toBe(0);
    expect(warningLevel(80 * MB, 100, [80, 95])).toBe(80);
    expect(warningLevel(99 * MB, 100, [80, 95])).toBe(95);
    expect(warningLevel(120 * MB, 100, [80, 95])).toBe(95);
    expect(warningLevel(500 * MB, 0, [80, 95])).toBe(0);
  });

  it('one mail per crossing: up tells, down only remembers, the same level does nothing', () => {
    expect(nextWarning(0, 80)).toEqual({ remember: 80, tell: true });
    expect(nextWarning(80, 80)).toBeNull();
    expect(nextWarning(80, 95)).toEqual({ remember: 95, tell: true });
    // Straight past both: one mail, about the higher.
    expect(nextWarning(0, 95)).toEqual({ remember: 95, tell: true });
    expect(nextWarning(95, 0)).toEqual({ remember: 0, tell: false });
    expect(nextWarning(95, 80)).toEqual({ remember: 80, tell: false });
  });

  it('says how full, and that mail is refused when full', () => {
    const m = quotaWarningMail({ address: 'a@example.com', level: 95, usedBytes: 97 * MB, quotaMb: 100 });
    expect(m.subject).toBe('Your mailbox a@example.com is 97 % full');
    expect(m.text).toContain('97 MB of its 100 MB');
    expect(m.text).toContain('refused');
  });
});
