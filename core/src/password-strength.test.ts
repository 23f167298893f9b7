import { describe, expect, it } from 'vitest';
import { FieldErrors } from './errors.js';
import { passwordStrength } from './password-strength.js';
import { checkPassword } from './validation.js';

describe('password strength (zxcvbn)', () => {
  it('common passwords and their variants score low, with the reason', () => {
    for (const weak of ['password123', 'Summer2024!', 'qwertyuiop', 'iloveyou1', '12345678910'])
      expect(passwordStrength(weak).score, weak).toBeLessThan(3);
    expect(passwordStrength('password123').reason).toMatch(/common/i);
  });

  it('several uncommon words, or a long random string, score high', () => {
    for (const strong of ['Tuba-Orbit-Lantern-58', 'correct horse battery staple', 'k7M2p9xQ4tRw'])
      expect(passwordStrength(strong).score, strong).toBeGreaterThanOrEqual(3);
  });

  it("the person's own address and name count as guessable", () => {
    // Not in any dictionary on its own: only the address makes it guessable.
    const pw = 'qzarothelmvexbrun';
    expect(passwordStrength(pw).score).toBeGreaterThanOrEqual(3);
    expect(passwordStrength(pw, ['qzarothelm.vexbrun@kings-college.test']).score).toBeLessThan(3);
  });

  it('checkPassword refuses below the minimum score with the reason at the field, and not at 0', () => {
    const errors = new FieldErrors();
    checkPassword(errors, 'password', 'Summer2024!', { minScore: 3 });
    expect(errors.errors).toEqual([{ field: 'password', code: 'TOO_WEAK', message: expect.stringMatching(/^This password is too easy to guess\. .+/) }]);
    const off = new FieldErrors();
    checkPassword(off, 'password', 'Summer2024!', { minScore: 0 });
    expect(off.errors).toEqual([]);
  });
});
