// Pure tests of the Sieve renderer. That Pigeonhole compiles and obeys these scripts is checked
// with sievec/sieve-test in the mail-stack suite (e2e/mailstack/sieve.test.ts).
import { describe, it, expect } from 'vitest';
import { renderVacationSieve, sieveString, SieveRenderError, type VacationInput } from './sieve.js';

/** Decodes a Sieve quoted string (RFC 5228 §2.4.2) the way a Sieve parser does, so the tests
 *  check round trips, not just the output's shape. Returns the value and the rest of the input. */
function parseQuoted(src: string): { value: string; rest: string } {
  if (src[0] !== '"') throw new Error(`not a quoted string: ${src.slice(0, 20)}`);
  let out = '';
  for (let i = 1; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      out += src[++i];
    } else if (c === '"') {
      return { value: out, rest: src.slice(i + 1) };
    } else {
      out += c;
    }
  }
  throw new Error('unterminated quoted string');
}

/** All quoted strings in a script, in order (comments in our scripts contain no quotes). */
function quotedStrings(script: string): string[] {
  const found: string[] = [];
  let rest = script;
  for (;;) {
    const i = rest.indexOf('"');
    if (i < 0) return found;
    const { value, rest: r } = parseQuoted(rest.slice(i));
    found.push(value);
    rest = r;
  }
}

/** The script with every quoted string replaced by "S": what remains is the code. */
function codeOnly(script: string): string {
  let out = '';
  let rest = script;
  for (;;) {
    const i = rest.indexOf('"');
    if (i < 0) return out + rest;
    out += rest.slice(0, i) + '"S"';
    rest = parseQuoted(rest.slice(i)).rest;
  }
}

const base: VacationInput = {
  enabled: true,
  subject: 'Out of office',
  message: 'I am away.',
  address: 'carol@example.test',
};

function codeError(fn: () => unknown): SieveRenderError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SieveRenderError) return e;
    throw e;
  }
  throw new Error('expected a SieveRenderError');
}

describe('sieveString', () => {
  it.each([
    ['plain', 'hello'],
    ['quotes', 'say "hi"'],
    ['backslashes', 'C:\\path\\"x\\\\'],
    ['injection', '"; redirect "x@evil"; keep; "'],
    ['trailing backslash', 'ends with \\'],
    ['non-ASCII', 'Grüße, 你好, emoji 🎉, RTL \u202e'],
    ['tabs and controls', 'a\tb\x01c\x7f'],
    ['empty', ''],
  ])('round-trips %s', (_name, text) => {
    const q = sieveString(text);
    const { value, rest } = parseQuoted(q);
    expect(value).toBe(text);
    expect(rest).toBe('');
  });

  it('escapes exactly backslash and double quote', () => {
    expect(sieveString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('normalises every line break to CRLF (no bare CR or LF inside the string)', () => {
    const q = sieveString('a\nb\r\nc\rd\n\n');
    expect(q).toBe('"a\r\nb\r\nc\r\nd\r\n\r\n"');
    expect(q.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('keeps a line that is just "." as text (no dot-stuffing needed in quoted strings)', () => {
    expect(parseQuoted(sieveString('one\n.\ntwo')).value).toBe('one\r\n.\r\ntwo');
  });

  it('rejects NUL', () => {
    const e = codeError(() => sieveString('a\0b', 'message'));
    expect(e.code).toBe('NUL');
    expect(e.field).toBe('message');
  });

  it('rejects lone surrogates but accepts pairs', () => {
    expect(codeError(() => sieveString('x\uD800y')).code).toBe('INVALID_UNICODE');
    expect(codeError(() => sieveString('x\uDC00')).code).toBe('INVALID_UNICODE');
    expect(parseQuoted(sieveString('\uD83C\uDF89')).value).toBe('🎉');
  });
});

describe('renderVacationSieve', () => {
  it('renders the vacation command with subject, addresses, days and message', () => {
    const s = renderVacationSieve({ ...base, days: 3 });
    expect(s.startsWith('require ["vacation", "date", "relational"];')).toBe(true);
    expect(s).toContain('vacation :days 3 :subject "Out of office" :addresses ["carol@example.test"]\r\n  "I am away.";');
    expect(s).not.toContain('currentdate');
  });

  it('skips mailing lists, bulk and auto-submitted mail before replying', () => {
    const code = codeOnly(renderVacationSieve(base));
    const strings = quotedStrings(renderVacationSieve(base));
    expect(strings).toEqual(expect.arrayContaining(['list-id', 'list-unsubscribe', 'precedence', 'bulk', 'list', 'junk', 'auto-submitted', 'no']));
    const guard = code.indexOf('stop;');
    expect(guard).toBeGreaterThan(0);
    expect(guard).toBeLessThan(code.indexOf('vacation :days'));
  });

  it('uses a half-open UTC window [startsAt, endsAt)', () => {
    const s = renderVacationSieve({
      ...base,
      startsAt: new Date('2026-12-01T08:30:15.900+01:00'),
      endsAt: new Date('2026-12-24T00:00:00Z'),
    });
    expect(s).toContain('if currentdate :zone "+0000" :value "lt" "iso8601" "2026-12-01T07:30:15" {\r\n  stop;\r\n}');
    expect(s).toContain('if currentdate :zone "+0000" :value "ge" "iso8601" "2026-12-24T00:00:00" {\r\n  stop;\r\n}');
  });

  it('renders only the bound that is given', () => {
    const onlyStart = renderVacationSieve({ ...base, startsAt: new Date('2026-01-01T00:00:00Z'), endsAt: null });
    expect(onlyStart).toContain('"lt" "iso8601" "2026-01-01T00:00:00"');
    expect(onlyStart).not.toContain('"ge" "iso8601"');
    const onlyEnd = renderVacationSieve({ ...base, endsAt: new Date('2027-01-01T00:00:00Z') });
    expect(onlyEnd).toContain('"ge" "iso8601" "2027-01-01T00:00:00"');
    expect(onlyEnd).not.toContain('"lt" "iso8601"');
  });

  it('keeps hostile text inside strings: the code around it is unchanged', () => {
    const hostileMessage = 'Bye"; redirect "x@evil"; discard; vacation "\\\n.\n..\n"}\n';
    const hostileSubject = 'Away \\"; redirect "x@evil"; #';
    const plain = codeOnly(renderVacationSieve(base));
    const s = renderVacationSieve({ ...base, subject: hostileSubject, message: hostileMessage });
    expect(codeOnly(s)).toBe(plain);
    const strings = quotedStrings(s);
    expect(strings).toContain(hostileSubject);
    expect(strings).toContain(hostileMessage.replace(/\n/g, '\r\n'));
    expect(strings.at(-1)).toBe(hostileMessage.replace(/\n/g, '\r\n'));
  });

  it('passes UTF-8 through unchanged', () => {
    const s = renderVacationSieve({ ...base, subject: 'Abwesenheit – Grüße 🎉', message: 'Je suis absent. 我不在。' });
    expect(quotedStrings(s)).toEqual(expect.arrayContaining(['Abwesenheit – Grüße 🎉', 'Je suis absent. 我不在。']));
    expect(Buffer.from(s, 'utf8').toString('utf8')).toBe(s);
  });

  it('accepts a 10 kB message and a 998-character subject', () => {
    const message = ('0123456789"\\\n'.repeat(800)).slice(0, 10240);
    const subject = 'x"'.repeat(499);
    const s = renderVacationSieve({ ...base, subject, message });
    const strings = quotedStrings(s);
    expect(strings).toContain(subject);
    expect(strings.at(-1)).toBe(message.replace(/\n/g, '\r\n'));
  });

  it('rejects CR or LF in the subject with a field error', () => {
    for (const subject of ['a\nBcc: x@evil', 'a\rb', 'a\r\n']) {
      const e = codeError(() => renderVacationSieve({ ...base, subject }));
      expect(e.field).toBe('subject');
      expect(e.code).toBe('NEWLINE');
    }
  });

  it('rejects NUL in subject and message, and over-long values', () => {
    expect(codeError(() => renderVacationSieve({ ...base, subject: 'a\0' }))).toMatchObject({ field: 'subject', code: 'NUL' });
    expect(codeError(() => renderVacationSieve({ ...base, message: 'a\0' }))).toMatchObject({ field: 'message', code: 'NUL' });
    expect(codeError(() => renderVacationSieve({ ...base, subject: 'x'.repeat(999) }))).toMatchObject({ field: 'subject', code: 'TOO_LONG' });
    expect(codeError(() => renderVacationSieve({ ...base, subject: 'x'.repeat(10240) }))).toMatchObject({ field: 'subject', code: 'TOO_LONG' });
    expect(codeError(() => renderVacationSieve({ ...base, message: 'x'.repeat(65537) }))).toMatchObject({ field: 'message', code: 'TOO_LONG' });
  });

  it('rejects bad addresses, days and dates', () => {
    for (const address of ['', 'nobody', 'a"b@c', 'a@b\nc', 'a b@c', 'x@evil"]; redirect "y@evil']) {
      expect(codeError(() => renderVacationSieve({ ...base, address }))).toMatchObject({ field: 'address' });
    }
    for (const days of [0, -1, 1.5, 61, Number.NaN]) {
      expect(codeError(() => renderVacationSieve({ ...base, days }))).toMatchObject({ field: 'days' });
    }
    expect(codeError(() => renderVacationSieve({ ...base, startsAt: new Date('nope') }))).toMatchObject({ field: 'startsAt' });
    expect(
      codeError(() =>
        renderVacationSieve({ ...base, startsAt: new Date('2026-02-01T00:00:00Z'), endsAt: new Date('2026-02-01T00:00:00Z') }),
      ),
    ).toMatchObject({ field: 'endsAt' });
  });

  it('requires a message only when enabled', () => {
    expect(codeError(() => renderVacationSieve({ ...base, message: ' \n ' }))).toMatchObject({ field: 'message', code: 'EMPTY' });
    expect(() => renderVacationSieve({ ...base, enabled: false, subject: '', message: '' })).not.toThrow();
  });

  it('renders a do-nothing script when disabled, still validating the input', () => {
    const s = renderVacationSieve({ ...base, enabled: false });
    expect(s).not.toContain('vacation ');
    expect(s).not.toContain('require');
    expect(codeOnly(s).replace(/#[^\r\n]*/g, '').trim()).toBe('keep;');
    expect(codeError(() => renderVacationSieve({ ...base, enabled: false, subject: 'a\nb' })).field).toBe('subject');
  });

  it('omits :subject when the subject is empty (Pigeonhole then uses "Auto: <original subject>")', () => {
    const s = renderVacationSieve({ ...base, subject: '' });
    expect(s).not.toContain(':subject');
    expect(s).toContain('vacation :days 1 :addresses ["carol@example.test"]');
  });

  it('SieveRenderError is an Error with a name the API can map', () => {
    const e = codeError(() => renderVacationSieve({ ...base, subject: 'a\nb' }));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('SieveRenderError');
    expect(e.message).toContain('subject');
  });
});
