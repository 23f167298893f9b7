import { describe, expect, it } from 'vitest';
import { FieldErrors } from './errors.js';
import { checkMessageSizeMb, effectiveMessageSizeBytes, messageSizeRefusal } from './message-size.js';

const SERVER = 25 * 1024 * 1024;

describe('message size limits', () => {
  it('a package limit applies below the server limit, never above it; none = the server limit', () => {
    expect(effectiveMessageSizeBytes(null, SERVER)).toBe(SERVER);
    expect(effectiveMessageSizeBytes(10, SERVER)).toBe(10 * 1024 * 1024);
    expect(effectiveMessageSizeBytes(100, SERVER)).toBe(SERVER);
  });

  it('accepts 0 (the server limit, stored as null) and 1 .. the server limit in MB; anything else is a field error', () => {
    const ok = new FieldErrors();
    expect(checkMessageSizeMb(ok, 'f', 0, SERVER)).toBeNull();
    expect(checkMessageSizeMb(ok, 'f', 25, SERVER)).toBe(25);
    expect(() => ok.throwIfAny()).not.toThrow();
    for (const bad of [26, -1, 1.5]) {
      const e = new FieldErrors();
      expect(checkMessageSizeMb(e, 'maxMessageSizeMb', bad, SERVER)).toBeNull();
      expect(() => e.throwIfAny()).toThrow();
    }
  });

  it('refuses an announced size above the limit with 552 5.3.4, the limit named; at or below it, nothing', () => {
    expect(messageSizeRefusal(1048577, 1048576)).toBe('552 5.3.4 Message too big for this recipient (limit 1 MB)');
    expect(messageSizeRefusal(1048576, 1048576)).toBeNull();
    expect(messageSizeRefusal(0, 1048576)).toBeNull();
    expect(messageSizeRefusal(Number.NaN, 1048576)).toBeNull();
  });
});
