import { describe, expect, it } from 'vitest';
import { compareDkim, compareDmarc, compareHostRecord, compareSpf, parseTagList } from './dns-check.js';

describe('DNS record comparison', () => {
  const dkim = 'v=DKIM1; k=rsa; p=QUJDREVG';

  it('DKIM: joins split strings, ignores extra tags and spacing', () => {
    expect(compareDkim(dkim, [['v=DKIM1; k=rsa; p=QUJD', 'REVG']]).status).toBe('MATCH');
    expect(compareDkim(dkim, [['v=DKIM1;k=rsa;t=s;p=QUJD REVG']]).status).toBe('MATCH');
    expect(compareDkim(dkim, [['p=QUJDREVG']]).status).toBe('MATCH'); // k defaults to rsa, v optional
  });

  it('DKIM: a different key, key type or a second record is DIFFERENT; nothing is MISSING', () => {
    expect(compareDkim(dkim, [['v=DKIM1; k=rsa; p=OTHER']])).toEqual({ status: 'DIFFERENT', found: ['v=DKIM1; k=rsa; p=OTHER'] });
    expect(compareDkim(dkim, [['v=DKIM1; k=ed25519; p=QUJDREVG']]).status).toBe('DIFFERENT');
    expect(compareDkim(dkim, [['v=DKIM1; k=rsa; p=QUJDREVG'], ['v=DKIM1; k=rsa; p=OTHER']]).status).toBe('DIFFERENT');
    expect(compareDkim(dkim, []).status).toBe('MISSING');
    expect(compareDkim(dkim, [['v=spf1 -all']]).status).toBe('MISSING');
  });

  it('SPF: same mechanisms in any order and case match; two records are DIFFERENT', () => {
    const spf = 'v=spf1 mx a:mx.panel.test ~all';
    expect(compareSpf(spf, [['v=spf1 a:MX.panel.test  mx ~all']]).status).toBe('MATCH');
    expect(compareSpf(spf, [['google-site-verification=x'], ['v=spf1 mx a:mx.panel.test', ' ~all']]).status).toBe('MATCH');
    expect(compareSpf(spf, [['v=spf1 mx -all']]).status).toBe('DIFFERENT');
    expect(compareSpf(spf, [['v=spf1 mx ~all'], ['v=spf1 a ~all']]).status).toBe('DIFFERENT');
    expect(compareSpf(spf, [['v=spf10 mx']]).status).toBe('MISSING');
    expect(compareSpf(spf, []).status).toBe('MISSING');
  });

  it('DMARC: the policy decides; report addresses are the owner’s', () => {
    const dmarc = 'v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test';
    expect(compareDmarc(dmarc, [['v=DMARC1; p=quarantine; rua=mailto:reports@elsewhere.test']]).status).toBe('MATCH');
    expect(compareDmarc(dmarc, [['v=DMARC1; p=none']]).status).toBe('DIFFERENT');
    expect(compareDmarc(dmarc, [['v=DMARC1; p=quarantine'], ['v=DMARC1; p=none']]).status).toBe('DIFFERENT');
    expect(compareDmarc(dmarc, [['some other text']]).status).toBe('MISSING');
  });

  it('parses tag lists leniently and keeps the first occurrence of a tag', () => {
    const t = parseTagList(' V = DKIM1 ; p = AB CD ;p=EF; junk ; =x');
    expect(t.get('v')).toBe('DKIM1');
    expect(t.get('p')).toBe('ABCD');
    expect(t.size).toBe(2);
  });
});

describe('MX, CNAME and SRV comparison', () => {
  it('MX: our host among the exchanges matches, whatever the preference or a backup MX', () => {
    expect(compareHostRecord('MX', '10 mx.panel.test', ['20 backup.other.test', '5 MX.Panel.test.']).status).toBe('MATCH');
    expect(compareHostRecord('MX', '10 mx.panel.test', ['10 mail.other.test']).status).toBe('DIFFERENT');
    expect(compareHostRecord('MX', '10 mx.panel.test', [])).toEqual({ status: 'MISSING', found: [] });
  });

  it('CNAME: the target must be our host', () => {
    expect(compareHostRecord('CNAME', 'mx.panel.test', ['mx.panel.test']).status).toBe('MATCH');
    expect(compareHostRecord('CNAME', 'mx.panel.test', ['autoconfig.other.test'])).toEqual({ status: 'DIFFERENT', found: ['autoconfig.other.test'] });
  });

  it('SRV: our host on the same port; another port or host is different', () => {
    expect(compareHostRecord('SRV', '0 1 993 mx.panel.test', ['10 5 993 mx.panel.test']).status).toBe('MATCH');
    expect(compareHostRecord('SRV', '0 1 993 mx.panel.test', ['0 1 143 mx.panel.test']).status).toBe('DIFFERENT');
    expect(compareHostRecord('SRV', '0 1 993 mx.panel.test', ['0 1 993 imap.other.test']).status).toBe('DIFFERENT');
  });
});
