// The records that make a domain's mail reach this server and mail clients find it: MX, the
// autoconfig (Thunderbird and others) and autodiscover (Outlook) host names, and the RFC 6186 SRV
// records for IMAP and submission. Pure: no I/O. They all name the server's mail host
// (MAIL_HOSTNAME); without it there is nothing truthful to publish, so there are none.
//
// Invariant: every name and target passes checkDomain (plain DNS labels), so a record can never
// carry another record's text; `zoneValue` ends host names with the root dot as a zone file needs.
import { checkDomain, type DnsRecord } from './dkim.js';

export type MailRecordKind = 'MX' | 'AUTOCONFIG' | 'AUTODISCOVER' | 'SRV';

export interface MailRecord {
  kind: MailRecordKind;
  record: DnsRecord;
}

/** The standard ports the SRV records announce: IMAP over TLS and message submission (STARTTLS). */
export const SRV_SERVICES = [
  { service: '_imaps._tcp', port: 993 },
  { service: '_submission._tcp', port: 587 },
] as const;

const MX_PREFERENCE = 10;

function record(name: string, type: DnsRecord['type'], value: string, zoneValue: string): DnsRecord {
  return { name, type, value, values: [value], zoneValue };
}

/** MX, autoconfig, autodiscover and SRV records for `domain` (its A-label), all naming `mailHostname`. */
export function mailServiceRecords(domain: string, mailHostname: string | null | undefined): MailRecord[] {
  if (!mailHostname) return [];
  const d = checkDomain(domain);
  const host = checkDomain(mailHostname.toLowerCase());
  return [
    { kind: 'MX', record: record(d, 'MX', `${MX_PREFERENCE} ${host}`, `${MX_PREFERENCE} ${host}.`) },
    { kind: 'AUTOCONFIG', record: record(`autoconfig.${d}`, 'CNAME', host, `${host}.`) },
    { kind: 'AUTODISCOVER', record: record(`autodiscover.${d}`, 'CNAME', host, `${host}.`) },
    ...SRV_SERVICES.map(({ service, port }) => ({
      kind: 'SRV' as const,
      record: record(`${service}.${d}`, 'SRV', `0 1 ${port} ${host}`, `0 1 ${port} ${host}.`),
    })),
  ];
}
