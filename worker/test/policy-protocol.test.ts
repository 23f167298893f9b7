import { describe, expect, it } from 'vitest';
import { formatResponse, MAX_ATTRIBUTES, MAX_LINE, PolicyProtocolError, PolicyRequestParser, policyQuery } from '../src/policy/protocol.js';

const REQUEST = [
  'request=smtpd_access_policy',
  'protocol_state=END-OF-MESSAGE',
  'protocol_name=ESMTP',
  'client_address=127.0.0.1',
  'sasl_username=Alice@Example.TEST',
  'sender=alice@example.test',
  'recipient_count=3',
  'queue_id=4ABC123',
  'ccert_subject=CN=a=b',
  '',
  '',
].join('\n');

describe('Postfix policy protocol', () => {
  it('parses a request ending at its empty line; the value is everything after the first =', () => {
    const [req, ...rest] = new PolicyRequestParser().push(REQUEST);
    expect(rest).toEqual([]);
    expect(req!.get('ccert_subject')).toBe('CN=a=b');
    expect(policyQuery(req!)).toEqual({ state: 'END-OF-MESSAGE', saslUsername: 'alice@example.test', sender: 'alice@example.test', recipientCount: 3, queueId: '4ABC123' });
  });

  it('assembles requests split anywhere and splits requests sent together (CRLF too)', () => {
    const p = new PolicyRequestParser();
    const text = REQUEST + REQUEST.replace(/\n/g, '\r\n');
    const got = [];
    for (let i = 0; i < text.length; i += 7) got.push(...p.push(text.slice(i, i + 7)));
    expect(got).toHaveLength(2);
    expect(got.map((r) => r.get('queue_id'))).toEqual(['4ABC123', '4ABC123']);
  });

  it('keeps the first of a repeated attribute and ignores stray empty lines', () => {
    const [req] = new PolicyRequestParser().push('\n\nsender=a@x\nsender=b@x\n\n');
    expect(req!.get('sender')).toBe('a@x');
  });

  it.each([
    ['a line without =', 'no-equals-sign\n\n'],
    ['an empty name', '=value\n\n'],
    ['an over-long line', `sender=${'x'.repeat(MAX_LINE)}\n\n`],
    ['an over-long unfinished line', `sender=${'x'.repeat(MAX_LINE + 10)}`],
    ['too many attributes', `${Array.from({ length: MAX_ATTRIBUTES + 1 }, (_, i) => `a${i}=1`).join('\n')}\n\n`],
  ])('refuses %s', (_n, text) => {
    expect(() => new PolicyRequestParser().push(text)).toThrow(PolicyProtocolError);
  });

  it('answers action=<action> and an empty line; never a newline inside', () => {
    expect(formatResponse('DUNNO')).toBe('action=DUNNO\n\n');
    expect(formatResponse('DEFER_IF_PERMIT 4.7.1 Try later')).toBe('action=DEFER_IF_PERMIT 4.7.1 Try later\n\n');
    expect(() => formatResponse('DUNNO\n\naction=OK')).toThrow(PolicyProtocolError);
    expect(() => formatResponse('')).toThrow(PolicyProtocolError);
  });

  it('reads odd counts as 0 and bounds huge ones', () => {
    const q = (n: string) => policyQuery(new Map([['recipient_count', n]])).recipientCount;
    expect(q('x')).toBe(0);
    expect(q('-1')).toBe(0);
    expect(q('1.5')).toBe(0);
    expect(q('99999999')).toBe(100000);
  });
});
