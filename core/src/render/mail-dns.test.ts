import { describe, expect, it } from 'vitest';
import { DnsRecordError } from './dkim.js';
import { mailServiceRecords } from './mail-dns.js';

describe('mailServiceRecords', () => {
  it('MX, autoconfig, autodiscover and the IMAP/submission SRV records, all naming the mail host', () => {
    const records = mailServiceRecords('example.test', 'MX1.Panel.test');
    expect(records.map((r) => [r.kind, r.record.type, r.record.name, r.record.value, r.record.zoneValue])).toEqual([
      ['MX', 'MX', 'example.test', '10 mx1.panel.test', '10 mx1.panel.test.'],
      ['AUTOCONFIG', 'CNAME', 'autoconfig.example.test', 'mx1.panel.test', 'mx1.panel.test.'],
      ['AUTODISCOVER', 'CNAME', 'autodiscover.example.test', 'mx1.panel.test', 'mx1.panel.test.'],
      ['SRV', 'SRV', '_imaps._tcp.example.test', '0 1 993 mx1.panel.test', '0 1 993 mx1.panel.test.'],
      ['SRV', 'SRV', '_submission._tcp.example.test', '0 1 587 mx1.panel.test', '0 1 587 mx1.panel.test.'],
    ]);
  });

  it('an internationalised domain is published under its A-label', () => {
    expect(mailServiceRecords('xn--bcher-kva.test', 'mx.panel.test')[0]!.record.name).toBe('xn--bcher-kva.test');
  });

  it('nothing without a mail host name: there is no truthful record to suggest', () => {
    expect(mailServiceRecords('example.test', undefined)).toEqual([]);
    expect(mailServiceRecords('example.test', '')).toEqual([]);
  });

  it('refuses anything that is not a plain DNS name, so no record can carry another', () => {
    expect(() => mailServiceRecords('example.test', 'mx.panel.test. IN A 1.2.3.4')).toThrow(DnsRecordError);
    expect(() => mailServiceRecords('exa mple.test', 'mx.panel.test')).toThrow(DnsRecordError);
    expect(() => mailServiceRecords('example.test\nevil.test', 'mx.panel.test')).toThrow(DnsRecordError);
  });
});
