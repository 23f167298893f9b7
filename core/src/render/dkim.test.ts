import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DnsRecordError,
  defaultDkimSelector,
  dkimRecord,
  dkimRecordName,
  dmarcRecord,
  normalizeDkimSelector,
  quoteTxtString,
  splitTxtValue,
  spfRecord,
  txtRecord,
} from './dkim.js';

const rsaPublic = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

describe('splitTxtValue', () => {
  it('keeps a short value in one string', () => {
    expect(splitTxtValue('v=spf1 mx ~all')).toEqual(['v=spf1 mx ~all']);
    expect(splitTxtValue('')).toEqual(['']);
  });

  it('splits an RSA-2048 key record into strings of at most 255 bytes that join back to the value', () => {
    const r = dkimRecord('example.test', 'mail', 'RSA_2048', rsaPublic());
    expect(r.value.length).toBeGreaterThan(255);
    expect(r.values.length).toBe(2);
    for (const v of r.values) expect(Buffer.byteLength(v)).toBeLessThanOrEqual(255);
    expect(r.values[0]!.length).toBe(255);
    expect(r.values.join('')).toBe(r.value);
  });

  it.each([255, 256, 510, 511, 1000])('splits %i bytes exactly at the limit', (n) => {
    const v = 'a'.repeat(n);
    const parts = splitTxtValue(v);
    expect(parts.join('')).toBe(v);
    expect(parts.every((p) => p.length <= 255)).toBe(true);
    expect(parts.length).toBe(Math.ceil(n / 255));
  });

  it('never cuts a multi-byte character', () => {
    const v = `${'a'.repeat(254)}é${'ü'.repeat(200)}`;
    const parts = splitTxtValue(v);
    expect(parts.join('')).toBe(v);
    for (const p of parts) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(255);
      expect(Buffer.from(p, 'utf8').toString('utf8')).toBe(p);
    }
    expect(parts[0]).toBe('a'.repeat(254));
  });
});

describe('zone-file quoting', () => {
  it('quotes each string and escapes quotes and backslashes', () => {
    expect(quoteTxtString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(txtRecord('x.example.test', 'v=spf1 ~all').zoneValue).toBe('"v=spf1 ~all"');
  });

  it.each(['line\nbreak', 'cr\r', 'nul\0', 'tab\t'])('refuses control characters: %j', (s) => {
    expect(() => quoteTxtString(s)).toThrow(DnsRecordError);
  });

  it('writes a split key as several quoted strings', () => {
    const r = dkimRecord('example.test', 'mail', 'RSA_2048', rsaPublic());
    expect(r.zoneValue).toBe(r.values.map((v) => `"${v}"`).join(' '));
  });
});

describe('DKIM record', () => {
  it('names <selector>._domainkey.<domain> and states the key type', () => {
    const ed = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
    const raw = Buffer.from(ed, 'base64url').toString('base64');
    const r = dkimRecord('example.test', 's2026', 'ED25519', raw);
    expect(r).toMatchObject({ name: 's2026._domainkey.example.test', type: 'TXT', value: `v=DKIM1; k=ed25519; p=${raw}` });
    expect(r.values).toEqual([r.value]);
    expect(dkimRecord('example.test', 'mail', 'RSA_2048', 'QUJD').value).toBe('v=DKIM1; k=rsa; p=QUJD');
  });

  it.each([
    ['a selector with a dot', () => dkimRecordName('a.b', 'example.test')],
    ['a selector with a space', () => dkimRecordName('a b', 'example.test')],
    ['an upper-case selector', () => dkimRecordName('Mail', 'example.test')],
    ['an empty selector', () => dkimRecordName('', 'example.test')],
    ['a domain with a newline', () => dkimRecordName('mail', 'example.test\nevil')],
    ['a one-label domain', () => dkimRecordName('mail', 'localhost')],
    ['a domain with a quote', () => dkimRecordName('mail', 'ex"ample.test')],
    ['a key that is not base64', () => dkimRecord('example.test', 'mail', 'RSA_2048', 'abc"; p=evil')],
    ['a key with a space', () => dkimRecord('example.test', 'mail', 'RSA_2048', 'QUJD RA==')],
  ])('refuses %s', (_n, fn) => {
    expect(fn).toThrow(DnsRecordError);
  });

  it('normalises selectors to one lower-case label or null', () => {
    expect(normalizeDkimSelector(' Mail2026 ')).toBe('mail2026');
    expect(normalizeDkimSelector('s-1')).toBe('s-1');
    for (const bad of ['-s', 's-', 'a.b', 'a_b', 'x'.repeat(64), '', 'a/b', '../x', 'mail key']) expect(normalizeDkimSelector(bad), bad).toBeNull();
  });

  it('picks a dated default selector that is not taken', () => {
    const now = new Date('2026-11-27T10:00:00Z');
    expect(defaultDkimSelector(now, [])).toBe('s20261127');
    expect(defaultDkimSelector(now, ['s20261127'])).toBe('s20261127-2');
    expect(defaultDkimSelector(now, ['s20261127', 's20261127-2'])).toBe('s20261127-3');
  });
});

describe('SPF and DMARC', () => {
  it('recommends mx (and the panel host when known) with a soft fail', () => {
    expect(spfRecord('example.test')).toMatchObject({ name: 'example.test', value: 'v=spf1 mx ~all' });
    expect(spfRecord('example.test', { mailHostname: 'MX.Panel.test' }).value).toBe('v=spf1 mx a:mx.panel.test ~all');
    expect(() => spfRecord('example.test', { mailHostname: 'mx panel' })).toThrow(DnsRecordError);
  });

  it('recommends DMARC quarantine with reports to postmaster', () => {
    expect(dmarcRecord('example.test')).toMatchObject({
      name: '_dmarc.example.test',
      value: 'v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@example.test',
    });
  });
});
