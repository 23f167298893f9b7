// Bad input, class by class: each case asserts the typed error (ValidationError with the exact
// field + code, or LimitExceededError / NotFoundError), that the answer is HTTP 200 with no
// top-level GraphQL error, and that nothing was written (row counts and the audit log, read back
// through the API, are unchanged). Positive cases next to them pin the normalisation (lower-case,
// punycode, comma-separated destinations).
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp, type Tenant } from '../../test/harness.js';

type Vars = Record<string, unknown>;

const PASSWORD = 'mailbox-pass-1';
const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } ... on LimitExceededError { limit max field } ... on NotFoundError { entity }`;

const DOC = {
  createMailbox: `mutation($u:String!,$d:String!,$p:String!,$q:Int){ r: createMailbox(username:$u, domain:$d, password:$p, quotaMb:$q){ __typename ... on MutationCreateMailboxSuccess { mailbox { id address localPart quotaMb domain { name } } } ${ERR} } }`,
  updateMailbox: `mutation($id:ID!,$q:Int){ r: updateMailbox(id:$id, quotaMb:$q){ __typename ... on MutationUpdateMailboxSuccess { mailbox { id quotaMb } } ${ERR} } }`,
  changeMailboxPassword: `mutation($id:ID!,$p:String!){ r: changeMailboxPassword(id:$id, password:$p){ __typename ... on MutationChangeMailboxPasswordSuccess { mailbox { id } } ${ERR} } }`,
  createForward: `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ... on MutationCreateForwardSuccess { forward { id source catchAll destinations domain { id catchAll { id } } } } ${ERR} } }`,
  setAutoresponder: `mutation($id:ID!,$i:AutoresponderInput!){ r: setAutoresponder(mailboxId:$id, input:$i){ __typename ... on MutationSetAutoresponderSuccess { mailbox { id autoresponder { enabled subject message startsAt endsAt } } } ${ERR} } }`,
  createCustomer: `mutation($n:String!,$e:String,$p:ID!){ r: createCustomer(name:$n, email:$e, packageId:$p){ __typename ... on MutationCreateCustomerSuccess { customer { id name } } ${ERR} } }`,
  updateCustomer: `mutation($id:ID!,$n:String,$e:String){ r: updateCustomer(id:$id, name:$n, email:$e){ __typename ... on MutationUpdateCustomerSuccess { customer { id name } } ${ERR} } }`,
  createHostingPackage: `mutation($i:HostingPackageInput!){ r: createHostingPackage(input:$i){ __typename ... on MutationCreateHostingPackageSuccess { hostingPackage { id name } } ${ERR} } }`,
  updateHostingPackage: `mutation($id:ID!,$i:HostingPackageInput!){ r: updateHostingPackage(id:$id, input:$i){ __typename ... on MutationUpdateHostingPackageSuccess { hostingPackage { id name maxMailboxes } } ${ERR} } }`,
  createApiToken: `mutation($n:String!,$x:DateTime){ r: createApiToken(name:$n, expiresAt:$x){ __typename ... on MutationCreateApiTokenSuccess { created { apiToken { id name } } } ${ERR} } }`,
  createDomain: `mutation($n:String!,$c:ID,$e:Boolean){ r: createDomain(name:$n, customerId:$c, enabled:$e){ __typename ... on MutationCreateDomainSuccess { domain { id name } } ${ERR} } }`,
  createUser: `mutation($e:String!,$p:String!,$r:Role!,$c:ID){ r: createUser(email:$e, password:$p, role:$r, customerId:$c){ __typename ... on MutationCreateUserSuccess { user { id email } } ${ERR} } }`,
  updateUser: `mutation($id:ID!,$p:String){ r: updateUser(id:$id, password:$p){ __typename ... on MutationUpdateUserSuccess { user { id } } ${ERR} } }`,
  login: `mutation($e:String!,$p:String!){ r: login(email:$e, password:$p){ __typename ... on Error { message } ... on ValidationError { fieldErrors { field code message } } } }`,
};

/** What a rejected call must answer. */
type Expected =
  | { validation: [field: string, code: string][] }
  | { limit: { limit: string; max: number; field: string | null } }
  | { notFound: string };

describe('input validation', async () => {
  const t = await startTestApp();

  // ---------------------------------------------------------------- fixtures
  const V = await createTenant(t, {}, 'val-main'); // unlimited quota, 50 mailboxes/forwards, 5 domains
  const W = await createTenant(t, {}, 'val-other'); // someone else's domain
  const Q = await createTenant(t, { totalQuotaMb: 100 }, 'val-quota'); // finite quota budget
  const L = await createTenant(t, { maxMailboxes: 1, maxForwards: 1 }, 'val-limit'); // tiny counts
  const existing = await createMailbox(t, V.token, 'existing', V.domain);
  const arMailbox = await createMailbox(t, V.token, 'away', V.domain);
  const viewerUser = async (tok: string) => (await t.ok(`{ viewer { user { id } } }`, {}, tok)).viewer.user.id as string;
  const userV = await viewerUser(V.token);

  // ---------------------------------------------------------------- helpers
  /** POSTs like a client: asserts HTTP 200 and no top-level GraphQL error; returns data. */
  async function call(doc: string, variables: Vars, token?: string): Promise<any> {
    const res = await t.app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: doc, variables }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const body = JSON.parse(text);
    expect(body.errors, text).toBeUndefined();
    return body.data;
  }

  /** Every row count the API exposes, plus the audit log (every successful mutation writes one event). */
  async function snapshot() {
    const a = await t.ok(
      `{ mailboxes { totalCount } forwards { totalCount } domains { totalCount } customers { totalCount } hostingPackages { totalCount }
         users(first:200) { edges { node { id } } } auditEvents { totalCount } }`,
      {},
      t.adminToken,
    );
    const v = await t.ok(`query($id:ID!){ apiTokens(first:200, includeRevoked:true) { edges { node { id } } } node(id:$id){ ... on Mailbox { quotaMb autoresponder { enabled subject message } } } }`, { id: arMailbox.id }, V.token);
    return {
      mailboxes: a.mailboxes.totalCount,
      forwards: a.forwards.totalCount,
      domains: a.domains.totalCount,
      customers: a.customers.totalCount,
      hostingPackages: a.hostingPackages.totalCount,
      users: a.users.edges.length,
      auditEvents: a.auditEvents.totalCount,
      apiTokensOfV: v.apiTokens.edges.length,
      autoresponderOfAway: v.node.autoresponder,
      quotaOfAway: v.node.quotaMb,
    };
  }

  function expectTyped(r: any, expected: Expected) {
    if ('validation' in expected) {
      expect(r.__typename, JSON.stringify(r)).toBe('ValidationError');
      expect(r.fieldErrors.map((e: any) => [e.field, e.code])).toEqual(expected.validation);
      for (const e of r.fieldErrors) expect(e.message).toEqual(expect.any(String));
      expect(r.message.length).toBeGreaterThan(0);
    } else if ('limit' in expected) {
      expect(r, JSON.stringify(r)).toMatchObject({ __typename: 'LimitExceededError', ...expected.limit });
      expect(r.message.length).toBeGreaterThan(0);
    } else {
      expect(r, JSON.stringify(r)).toMatchObject({ __typename: 'NotFoundError', entity: expected.notFound });
    }
  }

  /** Runs a mutation that must be rejected: typed error, HTTP 200, and no row or audit event written. */
  async function rejects(doc: string, vars: Vars, token: string, expected: Expected) {
    const before = await snapshot();
    const data = await call(doc, vars, token);
    expectTyped(data.r, expected);
    expect(await snapshot()).toEqual(before);
    return data.r;
  }

  async function succeeds(doc: string, vars: Vars, token: string) {
    const data = await call(doc, vars, token);
    expect(data.r.__typename, JSON.stringify(data.r)).toMatch(/^Mutation\w+Success$/);
    return data.r;
  }

  const mailboxArgs = (tenant: Tenant, u: string, extra: Vars = {}) => ({ u, d: tenant.domain, p: PASSWORD, ...extra });
  const INVALID_USERNAME: Expected = { validation: [['username', 'INVALID']] };

  // ================================================================ createMailbox
  describe('createMailbox', () => {
    const badLocalParts: [string, string][] = [
      ['a space inside', 'jo hn'],
      ['a leading dot', '.john'],
      ['a trailing dot', 'john.'],
      ['two dots in a row', 'a..b'],
      ['a plus (the recipient delimiter)', 'a+b'],
      ['65 characters', 'a'.repeat(65)],
      ['an empty string', ''],
      ['only spaces', '   '],
      ['an @', 'a@b'],
      ['a non-ASCII letter', 'jörg'],
    ];
    for (const [what, u] of badLocalParts)
      it(`rejects a local part with ${what} (username INVALID)`, () => rejects(DOC.createMailbox, mailboxArgs(V, u), V.token, INVALID_USERNAME));

    it('accepts 64 characters', async () => {
      const r = await succeeds(DOC.createMailbox, mailboxArgs(V, 'b'.repeat(64)), V.token);
      expect(r.mailbox.localPart).toBe('b'.repeat(64));
    });

    it('lower-cases the local part and the domain on success', async () => {
      const r = await succeeds(DOC.createMailbox, { u: 'Mixed.Case', d: V.domain.toUpperCase(), p: PASSWORD }, V.token);
      expect(r.mailbox).toMatchObject({ localPart: 'mixed.case', address: `mixed.case@${V.domain}`, domain: { name: V.domain } });
      // …and the lower-cased address is what is taken now.
      await rejects(DOC.createMailbox, mailboxArgs(V, 'MIXED.case'), V.token, { validation: [['username', 'TAKEN']] });
    });

    it('rejects an unknown domain (domain NOT_FOUND)', async () => {
      const r = await rejects(DOC.createMailbox, { u: 'x', d: 'nowhere.example', p: PASSWORD }, V.token, { validation: [['domain', 'NOT_FOUND']] });
      expect(r.fieldErrors[0].message).toBe('Domain nowhere.example not found');
    });

    it('rejects another customer’s domain exactly like an unknown one (domain NOT_FOUND)', async () => {
      const r = await rejects(DOC.createMailbox, { u: 'x', d: W.domain, p: PASSWORD }, V.token, { validation: [['domain', 'NOT_FOUND']] });
      expect(r.fieldErrors[0].message).toBe(`Domain ${W.domain} not found`);
    });

    it('rejects a syntactically invalid domain (domain INVALID)', () =>
      rejects(DOC.createMailbox, { u: 'x', d: 'not a domain', p: PASSWORD }, V.token, { validation: [['domain', 'INVALID']] }));

    it('rejects an address already used by a mailbox (username TAKEN)', async () => {
      const r = await rejects(DOC.createMailbox, mailboxArgs(V, 'existing'), V.token, { validation: [['username', 'TAKEN']] });
      expect(r.fieldErrors[0].message).toContain(existing.address);
    });

    it('rejects an address already used by a forward source (username TAKEN)', async () => {
      await succeeds(DOC.createForward, { s: `fwd-only@${V.domain}`, d: ['x@elsewhere.test'] }, V.token);
      const r = await rejects(DOC.createMailbox, mailboxArgs(V, 'fwd-only'), V.token, { validation: [['username', 'TAKEN']] });
      expect(r.fieldErrors[0].message).toMatch(/forward/);
    });

    it('rejects a password that is too short (password TOO_SHORT)', () =>
      rejects(DOC.createMailbox, mailboxArgs(V, 'shortpw', { p: 'short12' }), V.token, { validation: [['password', 'TOO_SHORT']] }));

    it('rejects a password that is too long (password TOO_LONG)', () =>
      rejects(DOC.createMailbox, mailboxArgs(V, 'longpw', { p: 'x'.repeat(257) }), V.token, { validation: [['password', 'TOO_LONG']] }));

    it('rejects a negative quota (quotaMb INVALID)', () =>
      rejects(DOC.createMailbox, mailboxArgs(V, 'negq', { q: -1 }), V.token, { validation: [['quotaMb', 'INVALID']] }));

    it('rejects a quota above the per-mailbox maximum (quotaMb TOO_LARGE)', () =>
      rejects(DOC.createMailbox, mailboxArgs(V, 'bigq', { q: 10_000_001 }), V.token, { validation: [['quotaMb', 'TOO_LARGE']] }));

    it('reports every bad field at once', () =>
      rejects(DOC.createMailbox, { u: 'a..b', d: '-bad.com', p: 'short', q: -5 }, V.token, {
        validation: [['username', 'INVALID'], ['domain', 'INVALID'], ['password', 'TOO_SHORT'], ['quotaMb', 'INVALID']],
      }));

    it('rejects a quota above the package total (LimitExceededError totalQuotaMb, field quotaMb)', () =>
      rejects(DOC.createMailbox, mailboxArgs(Q, 'huge', { q: 150 }), Q.token, { limit: { limit: 'totalQuotaMb', max: 100, field: 'quotaMb' } }));

    it('counts the quotas already given out against the package total', async () => {
      await succeeds(DOC.createMailbox, mailboxArgs(Q, 'sixty', { q: 60 }), Q.token);
      const r = await rejects(DOC.createMailbox, mailboxArgs(Q, 'fifty', { q: 50 }), Q.token, { limit: { limit: 'totalQuotaMb', max: 100, field: 'quotaMb' } });
      expect(r.message).toMatch(/40 MB/);
    });

    it('rejects the default quota when it does not fit the package total', () =>
      rejects(DOC.createMailbox, mailboxArgs(Q, 'default-quota'), Q.token, { limit: { limit: 'totalQuotaMb', max: 100, field: 'quotaMb' } }));

    it('rejects quota 0 (unlimited) when the package has a finite total (quotaMb UNLIMITED_NOT_ALLOWED)', () =>
      rejects(DOC.createMailbox, mailboxArgs(Q, 'unlimited', { q: 0 }), Q.token, { validation: [['quotaMb', 'UNLIMITED_NOT_ALLOWED']] }));

    it('accepts quota 0 when the package total is unlimited', async () => {
      const r = await succeeds(DOC.createMailbox, mailboxArgs(V, 'unlimited', { q: 0 }), V.token);
      expect(r.mailbox.quotaMb).toBe(0);
    });

    it('rejects a mailbox over maxMailboxes (LimitExceededError maxMailboxes)', async () => {
      await succeeds(DOC.createMailbox, mailboxArgs(L, 'first'), L.token);
      await rejects(DOC.createMailbox, mailboxArgs(L, 'second'), L.token, { limit: { limit: 'maxMailboxes', max: 1, field: null } });
    });
  });

  describe('updateMailbox / changeMailboxPassword', () => {
    it('rejects a negative quota on update (quotaMb INVALID)', () =>
      rejects(DOC.updateMailbox, { id: arMailbox.id, q: -1 }, V.token, { validation: [['quotaMb', 'INVALID']] }));

    it('rejects a quota raise beyond the package total (LimitExceededError, field quotaMb)', async () => {
      const m = (await call(`{ mailboxes(filter:{search:"sixty"}) { edges { node { id } } } }`, {}, Q.token)).mailboxes.edges[0].node.id;
      await rejects(DOC.updateMailbox, { id: m, q: 101 }, Q.token, { limit: { limit: 'totalQuotaMb', max: 100, field: 'quotaMb' } });
      await rejects(DOC.updateMailbox, { id: m, q: 0 }, Q.token, { validation: [['quotaMb', 'UNLIMITED_NOT_ALLOWED']] });
    });

    it('rejects a short new password (password TOO_SHORT)', () =>
      rejects(DOC.changeMailboxPassword, { id: arMailbox.id, p: 'abc' }, V.token, { validation: [['password', 'TOO_SHORT']] }));

    it('rejects a malformed mailbox id as NotFoundError', () =>
      rejects(DOC.updateMailbox, { id: 'not-a-global-id', q: 10 }, V.token, { notFound: 'Mailbox' }));
  });

  // ================================================================ createForward
  describe('createForward', () => {
    it('accepts destinations as a list (normalised and de-duplicated)', async () => {
      const r = await succeeds(DOC.createForward, { s: `List@${V.domain}`, d: ['One@Example.test', 'two@example.test', 'one@example.test'] }, V.token);
      expect(r.forward).toMatchObject({ source: `list@${V.domain}`, catchAll: false, destinations: ['one@example.test', 'two@example.test'] });
    });

    it('accepts destinations as one comma-separated string', async () => {
      const r = await succeeds(DOC.createForward, { s: `csv@${V.domain}`, d: 'a@example.test, b@example.test,c@example.test' }, V.token);
      expect(r.forward.destinations).toEqual(['a@example.test', 'b@example.test', 'c@example.test']);
    });

    it('accepts 50 destinations', async () => {
      const d = Array.from({ length: 50 }, (_, i) => `d${i}@example.test`);
      const r = await succeeds(DOC.createForward, { s: `fifty@${V.domain}`, d }, V.token);
      expect(r.forward.destinations).toHaveLength(50);
    });

    it('rejects an invalid destination (destinations INVALID)', () =>
      rejects(DOC.createForward, { s: `bad-dest@${V.domain}`, d: ['ok@example.test', 'not-an-address'] }, V.token, { validation: [['destinations', 'INVALID']] }));

    it('rejects a destination with a quote (destinations INVALID)', () =>
      rejects(DOC.createForward, { s: `quote@${V.domain}`, d: ['"x"@example.test'] }, V.token, { validation: [['destinations', 'INVALID']] }));

    it('rejects a forward to itself, in any case (destinations SELF_LOOP)', () =>
      rejects(DOC.createForward, { s: `loop@${V.domain}`, d: [`LOOP@${V.domain.toUpperCase()}`] }, V.token, { validation: [['destinations', 'SELF_LOOP']] }));

    it('rejects empty destinations (destinations REQUIRED)', async () => {
      await rejects(DOC.createForward, { s: `empty@${V.domain}`, d: [] }, V.token, { validation: [['destinations', 'REQUIRED']] });
      await rejects(DOC.createForward, { s: `empty@${V.domain}`, d: ['', ' , '] }, V.token, { validation: [['destinations', 'REQUIRED']] });
    });

    it('rejects more than 50 destinations (destinations TOO_MANY)', () =>
      rejects(DOC.createForward, { s: `many@${V.domain}`, d: Array.from({ length: 51 }, (_, i) => `d${i}@example.test`) }, V.token, {
        validation: [['destinations', 'TOO_MANY']],
      }));

    it('rejects an invalid source (source INVALID)', async () => {
      for (const s of ['no-at-sign', `@${V.domain}`, `a+b@${V.domain}`, `a..b@${V.domain}`, 'x@-bad.com', '*@'])
        await rejects(DOC.createForward, { s, d: ['x@example.test'] }, V.token, { validation: [['source', 'INVALID']] });
    });

    it('rejects a source on an unknown or another customer’s domain (source NOT_FOUND)', async () => {
      await rejects(DOC.createForward, { s: 'x@nowhere.example', d: ['x@example.test'] }, V.token, { validation: [['source', 'NOT_FOUND']] });
      await rejects(DOC.createForward, { s: `x@${W.domain}`, d: ['x@example.test'] }, V.token, { validation: [['source', 'NOT_FOUND']] });
    });

    it('accepts a *@domain catch-all, and refuses a second one on the same domain (source TAKEN)', async () => {
      const r = await succeeds(DOC.createForward, { s: `*@${V.domain}`, d: ['catch@example.test'] }, V.token);
      expect(r.forward).toMatchObject({ source: `*@${V.domain}`, catchAll: true, domain: { catchAll: { id: r.forward.id } } });
      await rejects(DOC.createForward, { s: `*@${V.domain.toUpperCase()}`, d: ['other@example.test'] }, V.token, { validation: [['source', 'TAKEN']] });
    });

    it('rejects a source that is an existing mailbox (source TAKEN)', async () => {
      const r = await rejects(DOC.createForward, { s: existing.address, d: ['x@example.test'] }, V.token, { validation: [['source', 'TAKEN']] });
      expect(r.fieldErrors[0].message).toContain(existing.address);
    });

    it('rejects a source that is already a forward (source TAKEN)', () =>
      rejects(DOC.createForward, { s: `fwd-only@${V.domain}`, d: ['y@example.test'] }, V.token, { validation: [['source', 'TAKEN']] }));

    it('rejects a forward over maxForwards (LimitExceededError maxForwards)', async () => {
      await succeeds(DOC.createForward, { s: `one@${L.domain}`, d: ['x@example.test'] }, L.token);
      await rejects(DOC.createForward, { s: `two@${L.domain}`, d: ['x@example.test'] }, L.token, { limit: { limit: 'maxForwards', max: 1, field: null } });
    });
  });

  // ================================================================ setAutoresponder
  describe('setAutoresponder', () => {
    const input = (over: Vars = {}) => ({ enabled: true, subject: 'Out of office', message: 'Back on Monday.', ...over });

    it('rejects an end before the start (endsAt BEFORE_START), and an end equal to the start', async () => {
      await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ startsAt: '2030-01-10T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }) }, V.token, {
        validation: [['endsAt', 'BEFORE_START']],
      });
      await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ startsAt: '2030-01-10T00:00:00Z', endsAt: '2030-01-10T00:00:00Z' }) }, V.token, {
        validation: [['endsAt', 'BEFORE_START']],
      });
    });

    it('rejects a subject with CR/LF (subject INVALID_CHARACTERS)', async () => {
      for (const subject of ['Away\r\nBcc: victim@example.test', 'Away\nagain', 'Away\ragain'])
        await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ subject }) }, V.token, { validation: [['subject', 'INVALID_CHARACTERS']] });
    });

    it('rejects a NUL character in the message (message INVALID_CHARACTERS)', () =>
      rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ message: 'a\u0000b' }) }, V.token, { validation: [['message', 'INVALID_CHARACTERS']] }));

    it('rejects a 10 001-character message (message TOO_LONG) and accepts 10 000', async () => {
      await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ message: 'x'.repeat(10_001) }) }, V.token, { validation: [['message', 'TOO_LONG']] });
      const r = await succeeds(DOC.setAutoresponder, { id: arMailbox.id, i: input({ message: 'y'.repeat(10_000) }) }, V.token);
      expect(r.mailbox.autoresponder.message).toHaveLength(10_000);
    });

    it('rejects a 201-character subject (subject TOO_LONG)', () =>
      rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ subject: 's'.repeat(201) }) }, V.token, { validation: [['subject', 'TOO_LONG']] }));

    it('rejects an enabled autoresponder with an empty subject (subject REQUIRED)', async () => {
      await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ subject: '' }) }, V.token, { validation: [['subject', 'REQUIRED']] });
      await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ subject: '   ' }) }, V.token, { validation: [['subject', 'REQUIRED']] });
      await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: input({ message: '' }) }, V.token, { validation: [['message', 'REQUIRED']] });
    });

    it('accepts a disabled autoresponder with an empty subject', async () => {
      const r = await succeeds(DOC.setAutoresponder, { id: arMailbox.id, i: { enabled: false, subject: '', message: '' } }, V.token);
      expect(r.mailbox.autoresponder).toEqual({ enabled: false, subject: '', message: '', startsAt: null, endsAt: null });
    });
  });

  // ================================================================ text size limits
  describe('size limits on text fields', () => {
    it('customer name longer than 120 (name TOO_LONG); 120 is accepted', async () => {
      await rejects(DOC.createCustomer, { n: 'n'.repeat(121), p: V.packageId }, t.adminToken, { validation: [['name', 'TOO_LONG']] });
      const r = await succeeds(DOC.createCustomer, { n: 'n'.repeat(120), p: V.packageId }, t.adminToken);
      expect(r.customer.name).toHaveLength(120);
    });

    it('customer name: empty (REQUIRED), multi-line (INVALID_CHARACTERS), taken (TAKEN); bad e-mail (email INVALID)', async () => {
      await rejects(DOC.createCustomer, { n: '  ', p: V.packageId }, t.adminToken, { validation: [['name', 'REQUIRED']] });
      await rejects(DOC.createCustomer, { n: 'two\nlines', p: V.packageId }, t.adminToken, { validation: [['name', 'INVALID_CHARACTERS']] });
      await rejects(DOC.createCustomer, { n: 'val-main', p: V.packageId }, t.adminToken, { validation: [['name', 'TAKEN']] });
      await rejects(DOC.createCustomer, { n: 'fresh', e: 'not-an-email', p: V.packageId }, t.adminToken, { validation: [['email', 'INVALID']] });
    });

    it('renaming a customer to more than 120 characters (name TOO_LONG)', () =>
      rejects(DOC.updateCustomer, { id: V.customerId, n: 'n'.repeat(121) }, t.adminToken, { validation: [['name', 'TOO_LONG']] }));

    it('hosting package name longer than 120 (name TOO_LONG), on create and on update', async () => {
      await rejects(DOC.createHostingPackage, { i: { name: 'p'.repeat(121) } }, t.adminToken, { validation: [['name', 'TOO_LONG']] });
      await rejects(DOC.updateHostingPackage, { id: V.packageId, i: { name: 'p'.repeat(121) } }, t.adminToken, { validation: [['name', 'TOO_LONG']] });
      await rejects(DOC.createHostingPackage, { i: { maxMailboxes: 3 } }, t.adminToken, { validation: [['name', 'REQUIRED']] });
    });

    it('API token name longer than 80 (name TOO_LONG); empty (REQUIRED); expiry in the past (expiresAt IN_PAST)', async () => {
      await rejects(DOC.createApiToken, { n: 't'.repeat(81) }, V.token, { validation: [['name', 'TOO_LONG']] });
      await rejects(DOC.createApiToken, { n: ' ' }, V.token, { validation: [['name', 'REQUIRED']] });
      await rejects(DOC.createApiToken, { n: 'expired', x: '2000-01-01T00:00:00Z' }, V.token, { validation: [['expiresAt', 'IN_PAST']] });
      const r = await succeeds(DOC.createApiToken, { n: 't'.repeat(80) }, V.token);
      expect(r.created.apiToken.name).toHaveLength(80);
    });
  });

  // ================================================================ createDomain
  describe('createDomain', () => {
    const bad: [string, string][] = [
      ['a leading hyphen', '-bad.com'],
      ['a trailing hyphen in a label', 'bad-.com'],
      ['no TLD (and an underscore)', 'no_tld'],
      ['an empty label', 'a..b.com'],
      ['300 characters (labels of at most 60)', `${'a'.repeat(60)}.`.repeat(4).padEnd(296, 'b') + '.com'],
      ['a 64-character label', `${'l'.repeat(64)}.com`],
      ['a numeric TLD', 'host.123'],
      ['a space', 'bad domain.com'],
      ['an @', 'user@domain.com'],
    ];
    for (const [what, n] of bad)
      it(`rejects a name with ${what} (name INVALID)`, () => rejects(DOC.createDomain, { n }, V.token, { validation: [['name', 'INVALID']] }));

    it('accepts the IDN Bücher.Example: shown and found as bücher.example, stored as its A-label (issue 12)', async () => {
      const r = await succeeds(DOC.createDomain, { n: 'Bücher.Example' }, V.token);
      expect(r.domain.name).toBe('bücher.example');
      const listed = await call(`{ domains(filter:{search:"xn--bcher"}) { totalCount edges { node { name asciiName } } } }`, {}, V.token);
      expect(listed.domains).toEqual({ totalCount: 1, edges: [{ node: { name: 'bücher.example', asciiName: 'xn--bcher-kva.example' } }] });
      // The Unicode and the punycode spellings are the same domain.
      await rejects(DOC.createDomain, { n: 'bücher.example' }, V.token, { validation: [['name', 'TAKEN']] });
      await rejects(DOC.createDomain, { n: 'xn--bcher-kva.example' }, W.token, { validation: [['name', 'TAKEN']] });
    });

    it('rejects an admin’s domain without a customer (customerId REQUIRED)', () =>
      rejects(DOC.createDomain, { n: 'orphan.example' }, t.adminToken, { validation: [['customerId', 'REQUIRED']] }));

    it('rejects a disabled domain created by a customer (enabled FORBIDDEN)', () =>
      rejects(DOC.createDomain, { n: 'off.example', e: false }, V.token, { validation: [['enabled', 'FORBIDDEN']] }));
  });

  // ================================================================ users, packages
  describe('createUser / updateUser', () => {
    it('rejects a CUSTOMER login without customerId (customerId REQUIRED)', () =>
      rejects(DOC.createUser, { e: 'lonely@example.test', p: 'user-pass-123', r: 'CUSTOMER' }, t.adminToken, { validation: [['customerId', 'REQUIRED']] }));

    it('rejects an ADMIN with a customerId (customerId NOT_ALLOWED)', () =>
      rejects(DOC.createUser, { e: 'admin2@example.test', p: 'user-pass-123', r: 'ADMIN', c: V.customerId }, t.adminToken, { validation: [['customerId', 'NOT_ALLOWED']] }));

    it('rejects a bad e-mail and a short password together', () =>
      rejects(DOC.createUser, { e: 'nope', p: 'short', r: 'CUSTOMER', c: V.customerId }, t.adminToken, { validation: [['email', 'INVALID'], ['password', 'TOO_SHORT']] }));

    it('rejects an e-mail that is already a panel login (email TAKEN)', () =>
      rejects(DOC.createUser, { e: V.email.toUpperCase(), p: 'user-pass-123', r: 'CUSTOMER', c: V.customerId }, t.adminToken, { validation: [['email', 'TAKEN']] }));

    it('rejects a short password on update (password TOO_SHORT)', () =>
      rejects(DOC.updateUser, { id: userV, p: 'short' }, t.adminToken, { validation: [['password', 'TOO_SHORT']] }));
  });

  describe('hosting packages', () => {
    it('rejects a negative limit (field INVALID), one error per bad limit', async () => {
      await rejects(DOC.createHostingPackage, { i: { name: 'neg', maxMailboxes: -1 } }, t.adminToken, { validation: [['maxMailboxes', 'INVALID']] });
      await rejects(DOC.createHostingPackage, { i: { name: 'neg', maxDomains: -1, totalQuotaMb: -100, maxEmailsPerHour: 1_000_000_001 } }, t.adminToken, {
        validation: [['maxDomains', 'INVALID'], ['totalQuotaMb', 'INVALID'], ['maxEmailsPerHour', 'INVALID']],
      });
      await rejects(DOC.updateHostingPackage, { id: V.packageId, i: { maxForwards: -3 } }, t.adminToken, { validation: [['maxForwards', 'INVALID']] });
    });

    it('rejects a duplicate package name (name TAKEN)', () =>
      rejects(DOC.createHostingPackage, { i: { name: 'pkg-val-main' } }, t.adminToken, { validation: [['name', 'TAKEN']] }));
  });

  describe('login', () => {
    it('rejects an empty e-mail and an empty password as ValidationError', async () => {
      expectTyped((await call(DOC.login, { e: '  ', p: 'whatever-123' })).r, { validation: [['email', 'REQUIRED']] });
      expectTyped((await call(DOC.login, { e: V.email, p: '' })).r, { validation: [['password', 'REQUIRED']] });
    });
  });

  describe('NUL and control characters in validated fields', () => {
    it('are typed errors, never a database error', async () => {
      await rejects(DOC.createMailbox, mailboxArgs(V, 'nulpw', { p: 'pass\u0000word-1' }), V.token, { validation: [['password', 'INVALID_CHARACTERS']] });
      await rejects(DOC.createMailbox, mailboxArgs(V, 'nul\u0000part'), V.token, INVALID_USERNAME);
      await rejects(DOC.createCustomer, { n: 'nul\u0000name', p: V.packageId }, t.adminToken, { validation: [['name', 'INVALID_CHARACTERS']] });
      await rejects(DOC.createForward, { s: `nul@${V.domain}`, d: ['a\u0000b@example.test'] }, V.token, { validation: [['destinations', 'INVALID']] });
      await rejects(DOC.createDomain, { n: 'nul\u0000.example' }, V.token, { validation: [['name', 'INVALID']] });
      await rejects(DOC.setAutoresponder, { id: arMailbox.id, i: { enabled: true, subject: 'a\u0000b', message: 'm' } }, V.token, { validation: [['subject', 'INVALID_CHARACTERS']] });
    });
  });

  // ================================================================ known defects
  describe('known defects', () => {
    // Regression (was a bug): nul-byte-500. A NUL character (U+0000) in a string that goes to PostgreSQL without passing
    // checkText is sent as is, and PostgreSQL refuses it ("invalid byte sequence for encoding UTF8:
    // 0x00", code 22021): the API answers { errors: [{ message: "Unexpected error.", extensions:
    // { code: "INTERNAL_SERVER_ERROR" } }], data: null } and logs "unexpected error". Reproduction:
    //   mutation { login(email: "a\u0000b@x.test", password: "whatever-123") { __typename } }
    // (public, no login needed). The same happens with the search/filter arguments of queries,
    // e.g. mailboxes(filter: { search: "a\u0000" }), customers(search: …), auditEvents(filter: …).
    it('login with a NUL byte in the e-mail answers a typed result, not INTERNAL_SERVER_ERROR (regression: nul-byte-500)', async () => {
      const d = await call(DOC.login, { e: 'a\u0000b@x.test', p: 'whatever-123' });
      expect(['ValidationError', 'AuthenticationError']).toContain(d.r.__typename);
    });

    it('mailboxes(filter: { search }) with a NUL byte answers an empty list, not INTERNAL_SERVER_ERROR (regression: nul-byte-500)', async () => {
      const d = await call(`query($s:String){ mailboxes(filter:{search:$s}) { totalCount } }`, { s: 'a\u0000' }, V.token);
      expect(d.mailboxes.totalCount).toBe(0);
    });
  });
});
