import { describe, expect, it } from 'vitest';
import { nextWarning, quotaWarningMail, warningLevel } from './quota-warning.js';
import { MAILBOX_LANGUAGES } from './mailbox-language.js';

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

  it('in the mailbox\'s language, numbers as that language writes them; English without one', () => {
    const de = quotaWarningMail({ address: 'a@example.com', level: 80, usedBytes: 85.5 * MB, quotaMb: 100, language: 'de' });
    expect(de.subject).toBe('Ihr Postfach a@example.com ist zu 86 % voll');
    expect(de.text).toContain('belegt 85,5 MB von 100 MB (86 %)');
    expect(de.text).toContain('wenn das Postfach 80 % seines Speicherplatzes überschreitet');
    expect(quotaWarningMail({ address: 'a@example.com', level: 95, usedBytes: 97 * MB, quotaMb: 100, language: 'fr' }).subject).toBe('Votre boîte aux lettres a@example.com est pleine à 97 %');
    expect(quotaWarningMail({ address: 'a@example.com', level: 95, usedBytes: 97 * MB, quotaMb: 100, language: 'es' }).subject).toBe('Su buzón a@example.com está lleno al 97 %');
    expect(quotaWarningMail({ address: 'a@example.com', level: 95, usedBytes: 97 * MB, quotaMb: 100, language: 'nl' }).subject).toBe('Uw mailbox a@example.com is voor 97 % vol');
    for (const language of [null, undefined, 'xx']) {
      expect(quotaWarningMail({ address: 'a@example.com', level: 80, usedBytes: 85.5 * MB, quotaMb: 100, language }).text).toContain('uses 85.5 MB of its 100 MB');
    }
  });

  it('every language fills every placeholder, and the two texts differ by threshold', () => {
    for (const language of MAILBOX_LANGUAGES) {
      const low = quotaWarningMail({ address: 'a@example.com', level: 80, usedBytes: 81 * MB, quotaMb: 100, language });
      const high = quotaWarningMail({ address: 'a@example.com', level: 95, usedBytes: 96 * MB, quotaMb: 100, language });
      for (const m of [low, high]) {
        expect(m.subject + m.text).not.toMatch(/[{}]/);
        expect(m.subject).toContain('a@example.com');
        expect(m.subject).not.toMatch(/[\r\n]/);
      }
      expect(low.text.split('\n')[2]).not.toBe(high.text.split('\n')[2]);
    }
  });

  it('a subject that would break its header line is refused, not sent', () => {
    expect(() => quotaWarningMail({ address: 'a@example.com\r\nBcc: x@evil.example', level: 80, usedBytes: 81 * MB, quotaMb: 100 })).toThrow(/one line/);
  });
});
