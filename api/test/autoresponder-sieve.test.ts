// setAutoresponder accepts exactly what the worker can turn into a Sieve script: everything the
// renderer (core/src/render/sieve.ts) would refuse is a field error at the API, and everything the
// API accepts is installed by the worker (the mailbox reaches READY, never FAILED).
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../core/src/validation.js';
import { renderVacationSieve, SIEVE_MAX_MESSAGE, SIEVE_MAX_SUBJECT } from '../../core/src/render/sieve.js';
import { createMailbox, createTenant, startTestApp, waitFor } from '../../test/harness.js';

const SET = `mutation($id:ID!,$i:AutoresponderInput!){ r: setAutoresponder(mailboxId:$id, input:$i){ __typename
  ... on MutationSetAutoresponderSuccess { mailbox { id provisioning autoresponder { enabled subject message startsAt endsAt } } }
  ... on ValidationError { fieldErrors { field code message } } } }`;
const STATE = `query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning provisioningError } } }`;

describe('setAutoresponder ⇔ the Sieve renderer', async () => {
  const t = await startTestApp({ worker: true });
  const tenant = await createTenant(t);
  const m = await createMailbox(t, tenant.token, 'sieve', tenant.domain);
  const base = { enabled: true, subject: 'Away', message: 'I am away.' };
  const set = async (over: Record<string, unknown>) => (await t.ok(SET, { id: m.id, i: { ...base, ...over } }, tenant.token)).r;

  it('keeps the API limits inside the renderer limits', () => {
    expect(LIMITS.subject).toBeLessThanOrEqual(SIEVE_MAX_SUBJECT);
    expect(LIMITS.message).toBeLessThanOrEqual(SIEVE_MAX_MESSAGE);
  });

  it.each([
    ['a lone high surrogate in the subject', { subject: 'Away \uD83D' }, 'subject', 'INVALID_CHARACTERS'],
    ['a lone low surrogate in the message', { message: 'x \uDE00 y' }, 'message', 'INVALID_CHARACTERS'],
    ['a NUL in the subject', { subject: 'a\u0000b' }, 'subject', 'INVALID_CHARACTERS'],
    ['a line break in the subject', { subject: 'a\r\nBcc: x@evil.test' }, 'subject', 'INVALID_CHARACTERS'],
    ['a start in year 0', { startsAt: '0000-01-01T00:00:00Z' }, 'startsAt', 'OUT_OF_RANGE'],
    ['an end in year 10000 (through the zone offset)', { endsAt: '9999-12-31T23:30:00-02:00' }, 'endsAt', 'OUT_OF_RANGE'],
    ['an empty message when enabled', { message: ' \n\t ' }, 'message', 'REQUIRED'],
  ])('refuses %s as a field error', async (_name, over, field, code) => {
    const r = await set(over);
    expect(r.__typename, JSON.stringify(r)).toBe('ValidationError');
    expect(r.fieldErrors.map((e: { field: string; code: string }) => [e.field, e.code])).toEqual([[field, code]]);
  });

  it.each([
    ['quotes, backslashes and an injection attempt', { subject: '"; redirect "x@evil"; keep; "', message: 'C:\\temp\\"q"\\\n"; discard;\r\n}' }],
    ['a full-length subject of astral characters', { subject: '🌴'.repeat(LIMITS.subject / 2) }],
    ['a full-length message with lines that are only dots', { message: '.\n..\n'.repeat(LIMITS.message / 5) }],
    ['a separator character in the subject', { subject: 'a\u2028b\u0085c\td' }],
    ['a window at the edges of the allowed years', { startsAt: '1970-01-01T00:00:00Z', endsAt: '9999-12-31T23:59:59Z' }],
    ['a disabled autoresponder with empty texts', { enabled: false, subject: '', message: '' }],
  ])('accepts %s, and the worker installs it', async (_name, over) => {
    const r = await set(over);
    expect(r.__typename, JSON.stringify(r)).toBe('MutationSetAutoresponderSuccess');
    const a = r.mailbox.autoresponder;
    expect(() =>
      renderVacationSieve({ ...a, startsAt: a.startsAt && new Date(a.startsAt), endsAt: a.endsAt && new Date(a.endsAt), address: `sieve@${tenant.domain}` }),
    ).not.toThrow();
    const s = await waitFor(async () => {
      const n = (await t.ok(STATE, { id: m.id }, tenant.token)).node;
      return n.provisioning !== 'PENDING' && n;
    }, 'provisioning finished');
    expect(s).toEqual({ provisioning: 'READY', provisioningError: null });
  });
});
