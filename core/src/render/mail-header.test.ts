import { describe, expect, it } from 'vitest';
import { HEADER_MAX_LENGTH, headerText } from './mail-header.js';

describe('header text', () => {
  it('passes one line of text through, Unicode included', () => {
    expect(headerText('Ihr Postfach a@example.com ist zu 86 % voll')).toBe('Ihr Postfach a@example.com ist zu 86 % voll');
    expect(headerText('Votre boîte aux lettres est pleine')).toBe('Votre boîte aux lettres est pleine');
  });

  it('refuses anything that could end the header line or hide in it', () => {
    for (const bad of ['a\r\nBcc: x@evil.example', 'a\nb', 'a\rb', 'a\tb', 'a\u0000b', 'a\u007fb', 'a\u0085b', 'a\u2028b', 'a\u2029b'])
      expect(() => headerText(bad, 'subject'), JSON.stringify(bad)).toThrow(/^subject: must be one line/);
  });

  it('refuses a line longer than RFC 5322 allows', () => {
    expect(headerText('x'.repeat(HEADER_MAX_LENGTH))).toHaveLength(HEADER_MAX_LENGTH);
    expect(() => headerText('x'.repeat(HEADER_MAX_LENGTH + 1))).toThrow(/at most 998/);
  });
});
