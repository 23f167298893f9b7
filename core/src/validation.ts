// Pure validation of what users type: local parts, domain names, addresses, sizes and free text.
// Each check returns a normalised value or adds a field error; nothing here does I/O.
import { domainToASCII, domainToUnicode } from 'node:url';
import { passwordStrength } from './password-strength.js';
import type { FieldErrors } from './errors.js';

export const LIMITS = {
  localPart: 64,
  domain: 253,
  address: 254,
  password: { min: 8, max: 256 },
  name: 120,
  subject: 200,
  message: 10_000,
  destinations: 50,
  quotaMb: 10_000_000,
  tokenName: 80,
} as const;

// Mailbox local parts: no '+' (Postfix's recipient delimiter), no leading/trailing/double dots.
const MAILBOX_LOCAL = /^[a-z0-9](?:[a-z0-9_-]|\.(?!\.))*$/;
// Destinations may be any dot-atom address (RFC 5322) but never a comma, quote or space, which would
// split or break a Postfix lookup result.
const ATOM = "[a-z0-9!#$%&'*/=?^_`{|}~+-]+";
const DOT_ATOM = new RegExp(`^${ATOM}(?:\\.${ATOM})*$`);
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Both forms of one domain name. `ascii` is the A-label form (xn--…): the one stored, unique name
 *  that Postfix, Dovecot, DNS and DKIM use. `unicode` is the U-label form people type and read; for
 *  an ASCII domain both are equal. */
export interface DomainForms {
  ascii: string;
  unicode: string;
}

/**
 * The one place a typed domain name is normalised: NFC, lower-case, no trailing dot, then UTS #46
 * (Node's url.domainToASCII). "Bücher.test", "bu\u0308cher.test" (decomposed) and
 * "xn--bcher-kva.test" are the same domain. null for anything that is not a valid host name in
 * both forms: an A-label that does not decode, or decodes to something that does not encode back
 * to it (xn--zz, xn--bcher-kva-), is refused, as are reserved "ab--" labels that are not A-labels
 * and Unicode labels that begin or end with a hyphen ("-bücher", whose A-label would pass).
 */
export function parseDomain(input: string): DomainForms | null {
  const trimmed = input.normalize('NFC').trim().toLowerCase().replace(/\.$/, '');
  if (!trimmed || trimmed.length > LIMITS.domain || /[\s/\\@]/.test(trimmed)) return null;
  const ascii = domainToASCII(trimmed);
  if (!ascii || ascii.length > LIMITS.domain) return null;
  const labels = ascii.split('.');
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l) && (l.startsWith('xn--') || !/^..--/.test(l))) || /^\d+$/.test(labels.at(-1)!))
    return null;
  const unicode = domainToUnicode(ascii);
  // An A-label that does not decode comes back unchanged from Node 24's domainToUnicode (Node 20 gave
  // ""): a U-label never starts with "xn--", so one that still does did not decode.
  if (!unicode || domainToASCII(unicode) !== ascii || unicode.split('.').some((l) => /^-|-$/.test(l) || l.startsWith('xn--'))) return null;
  return { ascii, unicode };
}

/** The stored (A-label) form of a typed domain name, or null when it is not valid. */
export function normalizeDomain(input: string): string | null {
  return parseDomain(input)?.ascii ?? null;
}

/** How a stored (A-label) domain is shown: its U-label. */
export function displayDomain(ascii: string): string {
  return domainToUnicode(ascii) || ascii;
}

/** How a stored address is shown: the local part as stored, the domain as its U-label. */
export function displayAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at + 1)}${displayDomain(address.slice(at + 1))}`;
}

export function normalizeMailboxLocalPart(input: string): string | null {
  const v = input.trim().toLowerCase();
  if (!v || v.length > LIMITS.localPart || !MAILBOX_LOCAL.test(v) || v.endsWith('.')) return null;
  return v;
}

/** A typed address in its stored form: local part lower-case ASCII (RFC 5322 dot-atom; Unicode local
 *  parts are refused, see docs/mail-stack.md), domain as its A-label. */
export function normalizeAddress(input: string): string | null {
  const v = input.normalize('NFC').trim().toLowerCase();
  if (v.length > LIMITS.address) return null;
  const at = v.lastIndexOf('@');
  if (at <= 0) return null;
  const local = v.slice(0, at);
  const domain = normalizeDomain(v.slice(at + 1));
  if (!domain || local.length > LIMITS.localPart || !DOT_ATOM.test(local)) return null;
  return `${local}@${domain}`;
}

/** Destinations come as a list, or as one comma/space/newline separated string. */
export function splitDestinations(input: string | string[]): string[] {
  const parts = (Array.isArray(input) ? input : [input]).flatMap((s) => s.split(/[,;\s]+/));
  return parts.map((s) => s.trim()).filter(Boolean);
}

/** False for text with a lone surrogate: not valid Unicode, and PostgreSQL refuses it. */
export function isWellFormed(text: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** A search term as typed in a filter box: trimmed, lower-cased, bounded. null = nothing to filter;
 *  a term with a NUL can match nothing (no stored text contains one). */
export function searchTerm(input: string | null | undefined, max = 254): { contains: string } | { in: string[] } | null {
  const v = input?.normalize('NFC').trim().toLowerCase().slice(0, max);
  if (!v) return null;
  return v.includes('\0') || !isWellFormed(v) ? { in: [] } : { contains: v };
}

/** The forms a search term may take in a stored name: as typed and, when its domain part (after the
 *  last '@', or the whole term) is Unicode, that part as an A-label — "bücher" also finds
 *  "xn--bcher-kva.test", "info@bücher.test" finds the stored "info@xn--bcher-kva.test". */
export function searchForms(term: { contains: string } | { in: string[] }): ({ contains: string } | { in: string[] })[] {
  if (!('contains' in term)) return [term];
  const v = term.contains;
  const at = v.lastIndexOf('@');
  const domainPart = v.slice(at + 1);
  if (!/[^\x00-\x7f]/.test(domainPart)) return [term];
  const ascii = domainToASCII(domainPart);
  return ascii && ascii !== domainPart ? [term, { contains: `${v.slice(0, at + 1)}${ascii}` }] : [term];
}

export function checkText(
  errors: FieldErrors,
  field: string,
  value: string,
  opts: { max: number; min?: number; singleLine?: boolean; label: string },
): string {
  if (value.includes('\0')) errors.add(field, 'INVALID_CHARACTERS', `${opts.label} contains a NUL character`);
  else if (!isWellFormed(value)) errors.add(field, 'INVALID_CHARACTERS', `${opts.label} contains broken Unicode (a lone surrogate)`);
  else if (opts.singleLine && /[\r\n]/.test(value)) errors.add(field, 'INVALID_CHARACTERS', `${opts.label} must be a single line`);
  if (value.length > opts.max) errors.add(field, 'TOO_LONG', `${opts.label} must be at most ${opts.max} characters`);
  if (opts.min !== undefined && value.trim().length < opts.min)
    errors.add(field, opts.min <= 1 ? 'REQUIRED' : 'TOO_SHORT', opts.min <= 1 ? `${opts.label} is required` : `${opts.label} must be at least ${opts.min} characters`);
  return value;
}

/**
 * Length and characters, then guessability: with `minScore` (PASSWORD_MIN_SCORE) a password zxcvbn
 * scores lower is refused with its reason; `userInputs` (the address, the name) count as guessable.
 */
export function checkPassword(errors: FieldErrors, field: string, password: string, strength?: { minScore: number; userInputs?: string[] }): void {
  if (password.length < LIMITS.password.min)
    errors.add(field, 'TOO_SHORT', `Password must be at least ${LIMITS.password.min} characters`);
  else if (password.length > LIMITS.password.max)
    errors.add(field, 'TOO_LONG', `Password must be at most ${LIMITS.password.max} characters`);
  else if (/[\0\r\n]/.test(password)) errors.add(field, 'INVALID_CHARACTERS', 'Password must not contain control characters');
  else if (strength && strength.minScore > 0) {
    const s = passwordStrength(password, strength.userInputs);
    if (s.score < strength.minScore)
      errors.add(field, 'TOO_WEAK', `This password is too easy to guess.${s.reason ? ` ${s.reason}` : ' Add another word or two: uncommon words are better.'}`);
  }
}

/** The address of a new mailbox, as createMailbox and the bulk import both check it: `fields` names
 *  where each problem is reported (the form's username/domain, or the CSV's one address column). */
export function checkMailboxAddress(
  errors: FieldErrors,
  input: { username: string; domain: string },
  fields: { username: string; domain: string } = { username: 'username', domain: 'domain' },
): { localPart: string | null; domain: string | null } {
  const localPart = normalizeMailboxLocalPart(input.username);
  if (!localPart) errors.add(fields.username, 'INVALID', 'Use letters, digits, dots, hyphens and underscores (not at the start or end), up to 64 characters');
  const domain = normalizeDomain(input.domain);
  if (!domain) errors.add(fields.domain, 'INVALID', 'Not a valid domain name');
  return { localPart, domain };
}

/** A forward's source as typed: local@domain, or *@domain for the catch-all. */
export function checkForwardSource(errors: FieldErrors, field: string, input: string): { localPart: string; domain: string; source: string } | null {
  const raw = input.trim().toLowerCase();
  const at = raw.lastIndexOf('@');
  const domain = at > 0 ? normalizeDomain(raw.slice(at + 1)) : null;
  const localPart = at > 0 ? (raw.slice(0, at) === '*' ? '*' : normalizeMailboxLocalPart(raw.slice(0, at))) : null;
  if (!domain || !localPart) {
    errors.add(field, 'INVALID', 'Use name@domain, or *@domain for a catch-all');
    return null;
  }
  return { localPart, domain, source: `${localPart}@${domain}` };
}

/** A forward's destinations as typed (a list, or one comma/space separated string) → normalised, de-duplicated. */
export function checkDestinations(errors: FieldErrors, field: string, input: string | string[], source: string): string[] {
  const list = splitDestinations(input);
  const destinations: string[] = [];
  if (list.length === 0) errors.add(field, 'REQUIRED', 'Give at least one destination address');
  if (list.length > LIMITS.destinations) errors.add(field, 'TOO_MANY', `At most ${LIMITS.destinations} destinations`);
  for (const d of list.slice(0, LIMITS.destinations)) {
    const addr = normalizeAddress(d);
    if (!addr) errors.add(field, 'INVALID', `${d.slice(0, 100)} is not a valid e-mail address`);
    else if (addr === source) errors.add(field, 'SELF_LOOP', 'A forward cannot point to itself');
    else if (!destinations.includes(addr)) destinations.push(addr);
  }
  return destinations;
}

export function checkQuota(errors: FieldErrors, field: string, quotaMb: number): void {
  if (!Number.isInteger(quotaMb) || quotaMb < 0) errors.add(field, 'INVALID', 'Quota must be a whole number of MB, 0 or more');
  else if (quotaMb > LIMITS.quotaMb) errors.add(field, 'TOO_LARGE', `Quota must be at most ${LIMITS.quotaMb} MB`);
}
