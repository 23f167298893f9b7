// Compares what DNS answers with the records the panel recommends (render/dkim.ts). Pure: the lookups
// themselves happen in the API (node:dns); this decides MATCH / MISSING / DIFFERENT.
//
// - DKIM: the record at <selector>._domainkey.<domain> whose tags say v=DKIM1 (or no v=); MATCH when
//   its key type and public key equal ours (other tags such as t=, n= or h= are the owner's business).
// - SPF: the domain's one `v=spf1` TXT record; MATCH when it has the same mechanisms as ours (order and
//   case ignored). Two SPF records are an error for receivers (RFC 7208 §4.5): DIFFERENT.
// - DMARC: the `v=DMARC1` record at _dmarc.<domain>; MATCH when its policy (p=) is ours — the report
//   addresses are the owner's choice.
// A TXT record arrives as several character-strings; they are joined without separators first.

export type DnsCheckStatus = 'MATCH' | 'MISSING' | 'DIFFERENT';

export interface DnsComparison {
  status: DnsCheckStatus;
  /** The published record(s) that were considered (joined strings). */
  found: string[];
}

/** Joins each TXT answer's character-strings (what resolveTxt returns: string[][]). */
export function joinTxt(answers: readonly (readonly string[])[]): string[] {
  return answers.map((parts) => parts.join(''));
}

/** Parses a `tag=value; tag=value` list (DKIM and DMARC syntax). Tag names lower-cased, values
 *  trimmed, whitespace inside values removed (base64 keys may be folded). */
export function parseTagList(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const tag = part.slice(0, i).trim().toLowerCase();
    if (tag && !out.has(tag)) out.set(tag, part.slice(i + 1).replace(/\s+/g, ''));
  }
  return out;
}

export function compareDkim(expectedValue: string, answers: readonly (readonly string[])[]): DnsComparison {
  const found = joinTxt(answers).filter((t) => {
    const v = parseTagList(t).get('v');
    return v === undefined || v.toUpperCase() === 'DKIM1';
  });
  if (found.length === 0) return { status: 'MISSING', found: joinTxt(answers) };
  const want = parseTagList(expectedValue);
  const same = found.some((t) => {
    const got = parseTagList(t);
    return (got.get('k') ?? 'rsa').toLowerCase() === (want.get('k') ?? 'rsa').toLowerCase() && got.get('p') === want.get('p');
  });
  return { status: same && found.length === 1 ? 'MATCH' : 'DIFFERENT', found };
}

function spfTerms(text: string): string[] {
  return text.trim().toLowerCase().split(/\s+/).slice(1).sort();
}

export function compareSpf(expectedValue: string, answers: readonly (readonly string[])[]): DnsComparison {
  const found = joinTxt(answers).filter((t) => /^v=spf1(\s|$)/i.test(t.trim()));
  if (found.length === 0) return { status: 'MISSING', found: [] };
  if (found.length > 1) return { status: 'DIFFERENT', found };
  const same = spfTerms(found[0]!).join(' ') === spfTerms(expectedValue).join(' ');
  return { status: same ? 'MATCH' : 'DIFFERENT', found };
}

export function compareDmarc(expectedValue: string, answers: readonly (readonly string[])[]): DnsComparison {
  const found = joinTxt(answers).filter((t) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(t.trim()));
  if (found.length === 0) return { status: 'MISSING', found: [] };
  if (found.length > 1) return { status: 'DIFFERENT', found };
  const got = parseTagList(found[0]!).get('p')?.toLowerCase();
  return { status: got !== undefined && got === parseTagList(expectedValue).get('p')?.toLowerCase() ? 'MATCH' : 'DIFFERENT', found };
}

// MX, CNAME and SRV answers arrive as strings in the records' presentation order ("10 mx.host",
// "mx.host", "0 1 993 mx.host"; see api/src/dns-lookup.ts). What must agree with ours:
// - MX: one of the exchanges is our mail host (the preference and other MX hosts, e.g. a backup MX,
//   are the owner's business);
// - CNAME: the target is our mail host;
// - SRV: one answer names our mail host on the same port (priority and weight are the owner's).
const hostOf = (s: string) => s.trim().toLowerCase().replace(/\.$/, '');
const tail = (s: string, n: number) => s.trim().split(/\s+/).slice(-n).map(hostOf).join(' ');

export function compareHostRecord(type: 'MX' | 'CNAME' | 'SRV', expectedValue: string, found: readonly string[]): DnsComparison {
  if (found.length === 0) return { status: 'MISSING', found: [] };
  const n = type === 'SRV' ? 2 : 1;
  const want = tail(expectedValue, n);
  return { status: found.some((f) => tail(f, n) === want) ? 'MATCH' : 'DIFFERENT', found: [...found] };
}
