// The DNS records the panel asks a customer to publish for a domain: the DKIM key record
// (<selector>._domainkey.<domain> TXT), and the recommended SPF and DMARC records. Pure: no I/O.
//
// Invariants:
// - A TXT record's character-strings are at most 255 bytes each (RFC 1035 §3.3.14); a longer value
//   (an RSA-2048 key is ~410 bytes) is split into several strings that resolvers hand back in order
//   and verifiers concatenate without separators (RFC 6376 §3.6.2.2). `values` is that split; `value`
//   is the whole text. Splitting never cuts inside a UTF-8 sequence (all our values are ASCII anyway).
// - `zoneValue` is the zone-file form ("..." "..."), with `"` and `\` escaped (RFC 1035 §5.1), for
//   pasting into a BIND-style zone; every other character we put in a record is printable ASCII.
// - Names and selectors are validated before they get here (normalizeDomain, normalizeDkimSelector);
//   the functions still refuse anything that is not a plain DNS name, so a record can never carry
//   another record's text.
import type { DkimAlgorithm } from '../generated/prisma/enums.js';

export const TXT_STRING_MAX = 255;

/** A record to publish, of any type: `values` and `zoneValue` as a zone file needs them. */
export interface DnsRecord {
  /** Fully qualified name, without the trailing dot. */
  name: string;
  type: 'TXT' | 'MX' | 'CNAME' | 'SRV';
  value: string;
  values: string[];
  zoneValue: string;
}

export interface TxtRecord extends DnsRecord {
  type: 'TXT';
  /** The whole value, as a verifier sees it after concatenation. */
  value: string;
  /** The value split into character-strings of at most 255 bytes. */
  values: string[];
  /** The value as written in a zone file: each string quoted, separated by spaces. */
  zoneValue: string;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export class DnsRecordError extends Error {
  override name = 'DnsRecordError';
}

export function checkDomain(domain: string): string {
  const labels = domain.split('.');
  if (domain.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l))) {
    throw new DnsRecordError(`not a DNS domain name: ${JSON.stringify(domain)}`);
  }
  return domain;
}

/** A DKIM selector as the panel accepts it: one lower-case DNS label (also safe in a file name and
 *  in rspamd's selector map). Returns null when the input is not one. */
export function normalizeDkimSelector(input: string): string | null {
  const v = input.trim().toLowerCase();
  return SELECTOR.test(v) ? v : null;
}

/** Splits a TXT value into character-strings of at most `max` bytes (UTF-8), in order. */
export function splitTxtValue(value: string, max = TXT_STRING_MAX): string[] {
  if (max < 4) throw new DnsRecordError('max must be at least 4 bytes');
  if (value === '') return [''];
  const out: string[] = [];
  let cur = '';
  let curBytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (curBytes + n > max) {
      out.push(cur);
      cur = '';
      curBytes = 0;
    }
    cur += ch;
    curBytes += n;
  }
  out.push(cur);
  return out;
}

/** One character-string in zone-file syntax. */
export function quoteTxtString(s: string): string {
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new DnsRecordError('TXT strings must not contain control characters');
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function txtRecord(name: string, value: string): TxtRecord {
  const values = splitTxtValue(value);
  return { name, type: 'TXT', value, values, zoneValue: values.map(quoteTxtString).join(' ') };
}

export function dkimRecordName(selector: string, domain: string): string {
  if (!SELECTOR.test(selector)) throw new DnsRecordError(`not a DKIM selector: ${JSON.stringify(selector)}`);
  return `${selector}._domainkey.${checkDomain(domain)}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The key record's text (RFC 6376 §3.6.1; Ed25519: RFC 8463). publicKey is the base64 `p=` value:
 *  the DER SubjectPublicKeyInfo for RSA, the raw 32-byte key for Ed25519. */
export function dkimRecordValue(algorithm: DkimAlgorithm, publicKey: string): string {
  if (!BASE64.test(publicKey)) throw new DnsRecordError('the public key must be base64');
  return `v=DKIM1; k=${algorithm === 'ED25519' ? 'ed25519' : 'rsa'}; p=${publicKey}`;
}

export function dkimRecord(domain: string, selector: string, algorithm: DkimAlgorithm, publicKey: string): TxtRecord {
  return txtRecord(dkimRecordName(selector, domain), dkimRecordValue(algorithm, publicKey));
}

/** Recommended SPF: the domain's MX hosts may send, plus the panel's outbound host when known;
 *  everything else soft-fails (~all) so a forgotten sender is marked rather than lost. */
export function spfRecord(domain: string, opts: { mailHostname?: string | null } = {}): TxtRecord {
  const mechanisms = ['mx'];
  if (opts.mailHostname) mechanisms.push(`a:${checkDomain(opts.mailHostname.toLowerCase())}`);
  return txtRecord(checkDomain(domain), `v=spf1 ${mechanisms.join(' ')} ~all`);
}

/** Recommended DMARC: quarantine what fails alignment, aggregate reports to postmaster@domain. */
export function dmarcRecord(domain: string): TxtRecord {
  const d = checkDomain(domain);
  return txtRecord(`_dmarc.${d}`, `v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@${d}`);
}

/** A selector for a new key that is not in `taken`: s<yyyymmdd>, then s<yyyymmdd>-2, -3 … */
export function defaultDkimSelector(now: Date, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = `s${now.toISOString().slice(0, 10).replace(/-/g, '')}`;
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}
