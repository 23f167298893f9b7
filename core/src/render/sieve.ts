// The ONE place that writes text into Sieve scripts (RFC 5228, Pigeonhole).
//
// Escaping invariants:
// - Every user-supplied text becomes a quoted string made by sieveString(): `\` → `\\`, `"` → `\"`,
//   nothing else is special inside a Sieve quoted string, so the text can never end the string
//   early or add a command ("; redirect "x@evil"; stays text).
// - Line breaks are normalised to CRLF: RFC 5228 allows CRLF inside quoted strings, but not a
//   bare CR or LF. We use quoted strings rather than `text:` … `.` multi-line literals, so no
//   dot-stuffing is needed and a line that is just "." has no meaning.
// - NUL (not allowed by RFC 5228) and lone UTF-16 surrogates (not encodable as UTF-8) are
//   rejected; every other character, including non-ASCII UTF-8, passes through unchanged.
// - Single-line values (the subject, addresses) reject CR/LF instead of folding them: a subject
//   must not be able to smuggle a second header into the reply.
// - Dates are rendered from Date objects only, as UTC "YYYY-MM-DDTHH:MM:SS".
// Failures throw SieveRenderError with the input field name, for the API to map to a field error.

export type SieveRenderErrorCode = 'NUL' | 'INVALID_UNICODE' | 'NEWLINE' | 'TOO_LONG' | 'EMPTY' | 'INVALID';

export class SieveRenderError extends Error {
  constructor(
    /** Input field that is wrong: 'subject', 'message', 'address', 'startsAt', 'endsAt', 'days' or 'value'. */
    readonly field: string,
    readonly code: SieveRenderErrorCode,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SieveRenderError';
  }
}

/** Longest subject accepted (RFC 5322 line length). */
export const SIEVE_MAX_SUBJECT = 998;
/** Longest vacation message accepted (characters); Pigeonhole's script limit is 1 MiB. */
export const SIEVE_MAX_MESSAGE = 65536;
/** Pigeonhole's default sieve_vacation_max_period is 60 days; it clamps larger values silently. */
export const SIEVE_MAX_DAYS = 60;

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A Sieve quoted string holding exactly `text` (line breaks become CRLF). */
export function sieveString(text: string, field = 'value'): string {
  if (typeof text !== 'string') throw new SieveRenderError(field, 'INVALID', 'must be a string');
  if (text.includes('\0')) throw new SieveRenderError(field, 'NUL', 'must not contain NUL characters');
  if (LONE_SURROGATE_RE.test(text)) throw new SieveRenderError(field, 'INVALID_UNICODE', 'contains invalid Unicode (lone surrogate)');
  const body = text
    .replace(/\r\n|\r|\n/g, '\r\n')
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"');
  return `"${body}"`;
}

/** A quoted string that must be one line. */
function sieveLine(text: string, field: string): string {
  if (typeof text === 'string' && /[\r\n]/.test(text)) {
    throw new SieveRenderError(field, 'NEWLINE', 'must be a single line (no CR or LF)');
  }
  return sieveString(text, field);
}

// Deliberately loose: the API validates addresses; this only keeps out what cannot be an address.
const ADDRESS_RE = /^[^\s@"\\<>()\[\],;:]{1,64}@[^\s@"\\<>()\[\],;:]{1,253}$/u;

function sieveUtc(d: Date, field: string): string {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new SieveRenderError(field, 'INVALID', 'must be a valid date');
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ (or ±YYYYYY for far years)
  if (!/^\d{4}-/.test(iso)) throw new SieveRenderError(field, 'INVALID', 'year must be 0000..9999');
  return iso.slice(0, 19);
}

export interface VacationInput {
  enabled: boolean;
  subject: string;
  message: string;
  /** Reply only from this instant on (inclusive); null/undefined = no start. */
  startsAt?: Date | null;
  /** Reply only before this instant (exclusive); null/undefined = no end. */
  endsAt?: Date | null;
  /** The mailbox address (vacation :addresses, so mail to it counts as "addressed to me"). */
  address: string;
  /** Reply at most once per sender per this many days (1..60). Default 1. */
  days?: number;
}

/**
 * The autoresponder as a complete Sieve script.
 *
 * - When enabled: replies (once per sender per `days`) unless the message is from a mailing list
 *   (List-Id / List-Unsubscribe), bulk (Precedence bulk|list|junk) or automatic (Auto-Submitted
 *   other than "no"), and only inside [startsAt, endsAt) compared in UTC. Mail is always kept.
 * - When disabled: a script that does nothing but keep (never null), so the worker can always
 *   write and activate the same file. The input is validated either way (an empty message is
 *   refused only when enabled: the database default is '').
 *
 * Date comparison: `currentdate :zone "+0000" … "iso8601"` yields "2026-11-26T10:00:00Z" in
 * Pigeonhole 0.5 (RFC 5260 allows "+00:00" too). We compare with "2026-11-26T10:00:00", no zone:
 * equal prefixes make the longer (current) string greater, so "lt start" is false exactly at the
 * start and "ge end" is true exactly at the end, whatever zone suffix follows.
 */
export function renderVacationSieve(input: VacationInput): string {
  const days = input.days ?? 1;
  if (!Number.isInteger(days) || days < 1 || days > SIEVE_MAX_DAYS) {
    throw new SieveRenderError('days', 'INVALID', `must be an integer 1..${SIEVE_MAX_DAYS}`);
  }
  if (typeof input.subject !== 'string') throw new SieveRenderError('subject', 'INVALID', 'must be a string');
  if (input.subject.length > SIEVE_MAX_SUBJECT) {
    throw new SieveRenderError('subject', 'TOO_LONG', `must be at most ${SIEVE_MAX_SUBJECT} characters`);
  }
  const subject = sieveLine(input.subject, 'subject');
  if (typeof input.message !== 'string') throw new SieveRenderError('message', 'INVALID', 'must be a string');
  if (input.message.length > SIEVE_MAX_MESSAGE) {
    throw new SieveRenderError('message', 'TOO_LONG', `must be at most ${SIEVE_MAX_MESSAGE} characters`);
  }
  if (input.enabled && input.message.trim() === '') throw new SieveRenderError('message', 'EMPTY', 'must not be empty');
  const message = sieveString(input.message, 'message');
  if (typeof input.address !== 'string' || /[\r\n]/.test(input.address) || !ADDRESS_RE.test(input.address)) {
    throw new SieveRenderError('address', 'INVALID', 'must be an e-mail address');
  }
  const address = sieveLine(input.address, 'address');
  const start = input.startsAt ? sieveUtc(input.startsAt, 'startsAt') : null;
  const end = input.endsAt ? sieveUtc(input.endsAt, 'endsAt') : null;
  if (input.startsAt && input.endsAt && input.endsAt.getTime() <= input.startsAt.getTime()) {
    throw new SieveRenderError('endsAt', 'INVALID', 'must be after startsAt');
  }

  if (!input.enabled) {
    return '# mailpanel autoresponder: disabled\r\nkeep;\r\n';
  }

  const lines = [
    'require ["vacation", "date", "relational"];',
    '# mailpanel autoresponder (generated; changes are overwritten)',
    '',
    '# Never answer mailing lists, bulk mail or automatic mail.',
    'if anyof (exists "list-id",',
    '          exists "list-unsubscribe",',
    '          header :comparator "i;ascii-casemap" :is "precedence" ["bulk", "list", "junk"],',
    '          allof (exists "auto-submitted",',
    '                 not header :comparator "i;ascii-casemap" :matches "auto-submitted" ["no", "no;*", "no *"])) {',
    '  stop;',
    '}',
  ];
  if (start !== null) {
    lines.push(`if currentdate :zone "+0000" :value "lt" "iso8601" ${sieveString(start)} {`, '  stop;', '}');
  }
  if (end !== null) {
    lines.push(`if currentdate :zone "+0000" :value "ge" "iso8601" ${sieveString(end)} {`, '  stop;', '}');
  }
  const subjectArg = input.subject === '' ? '' : ` :subject ${subject}`;
  lines.push(`vacation :days ${days}${subjectArg} :addresses [${address}]`, `  ${message};`, '');
  return lines.join('\r\n');
}
