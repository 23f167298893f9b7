// A mailbox's language (issue 16): one of a small set, set on createMailbox and updateMailbox;
// anything else is a typed error on the field and nothing is written.
import { describe, expect, it } from 'vitest';
import { createTenant, startTestApp } from '../../test/harness.js';

const ERR = `... on ValidationError { fieldErrors { field code message } }`;
const CREATE = `mutation($u:String!,$d:String!,$l:String){ r: createMailbox(username:$u, domain:$d, password:"Language-Pass-Words-8", language:$l){ __typename ... on MutationCreateMailboxSuccess { mailbox { id language } } ${ERR} } }`;
const UPDATE = `mutation($id:ID!,$l:String,$q:Int){ r: updateMailbox(id:$id, language:$l, quotaMb:$q){ __typename ... on MutationUpdateMailboxSuccess { mailbox { language quotaMb } } ${ERR} } }`;
const NODE = `query($id:ID!){ node(id:$id){ ... on Mailbox { language quotaMb } } }`;

describe('mailbox language', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t);

  it('set on creation (any case), English (null) without one; an unsupported one is a field error and creates nothing', async () => {
    expect((await t.ok(CREATE, { u: 'deutsch', d: tenant.domain, l: ' DE ' }, tenant.token)).r.mailbox.language).toBe('de');
    expect((await t.ok(CREATE, { u: 'english', d: tenant.domain }, tenant.token)).r.mailbox.language).toBeNull();
    for (const bad of ['xx', 'deutsch', 'de-DE', 'e n']) {
      const r = (await t.ok(CREATE, { u: 'klingon', d: tenant.domain, l: bad }, tenant.token)).r;
      expect(r, bad).toEqual({ __typename: 'ValidationError', fieldErrors: [{ field: 'language', code: 'UNSUPPORTED', message: expect.stringMatching(/en, de, fr, es, nl/) }] });
    }
    expect((await t.ok(`{ mailboxes(filter:{ search:"klingon" }){ totalCount } }`, {}, tenant.token)).mailboxes.totalCount).toBe(0);
  });

  it('changed and cleared with updateMailbox; a bad one changes nothing, not even the other fields', async () => {
    const m = (await t.ok(CREATE, { u: 'changing', d: tenant.domain, l: 'nl' }, tenant.token)).r.mailbox;
    expect((await t.ok(UPDATE, { id: m.id, l: 'fr' }, tenant.token)).r.mailbox.language).toBe('fr');
    // Absent: unchanged.
    expect((await t.ok(UPDATE, { id: m.id, q: 300 }, tenant.token)).r.mailbox).toEqual({ language: 'fr', quotaMb: 300 });
    const bad = (await t.ok(UPDATE, { id: m.id, l: 'tlh', q: 200 }, tenant.token)).r;
    expect(bad).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'language', code: 'UNSUPPORTED' }] });
    expect((await t.ok(NODE, { id: m.id }, tenant.token)).node).toEqual({ language: 'fr', quotaMb: 300 });
    expect((await t.ok(UPDATE, { id: m.id, l: '' }, tenant.token)).r.mailbox.language).toBeNull();
  });
});
