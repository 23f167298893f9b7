// Alias domains through the API on the real PostgreSQL: createAliasDomain's rules (same customer as
// the target, no chains, a name that is no existing domain, the package's maxDomains), another
// tenant's target reads as not found, an alias domain has no addresses of its own, a loop through the
// alias rewrite is refused like a forward's, and the database functions Postfix asks rewrite
// x@alias to x@target (mailboxes, +tag, catch-all) and refuse the alias of a disabled target; rspamd
// gets the target's spam policy for the alias.
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, type Tenant, sql, startTestApp, success } from '../../test/harness.js';
import { loadSpamPolicies } from '../../worker/src/email-security/rspamd-sync.js';

const ERR = `__typename ... on Error { message } ... on ValidationError { fieldErrors { field code message } } ... on LimitExceededError { limit max } ... on NotFoundError { entity }`;
const CREATE = `mutation($n:String!,$t:ID!){ r: createAliasDomain(name:$n, targetDomainId:$t){ ${ERR} ... on MutationCreateAliasDomainSuccess { domain { id name asciiName enabled aliasOf { id name } customer { id } } } } }`;
const DELETE = `mutation($id:ID!){ r: deleteAliasDomain(id:$id){ ${ERR} ... on MutationDeleteAliasDomainSuccess { deletedId } } }`;
const DOMAINS = `query($f:DomainFilter){ domains(filter:$f){ totalCount edges { node { id name aliasOf { name } aliasDomains { name } } } } }`;

const lookup = async (key: string) => (await sql(`SELECT mail_alias_lookup($1) AS d`, [key])).map((r) => r.d as string);

describe('alias domains', async () => {
  const t = await startTestApp();
  const A = await createTenant(t, { maxDomains: 3 }, 'aliasa');
  const B = await createTenant(t, {}, 'aliasb');
  const create = async (tenant: Pick<Tenant, 'token'>, name: string, target: string) => (await t.ok(CREATE, { n: name, t: target }, tenant.token)).r;
  const domainCount = async (tenant: Tenant) => (await t.ok(DOMAINS, {}, tenant.token)).domains.totalCount as number;
  const auditCount = async (tenant: Tenant) => (await t.ok(`{ auditEvents { totalCount } }`, {}, tenant.token)).auditEvents.totalCount as number;

  /** The refusal a user sees, and that nothing was written (domain count and audit log unchanged). */
  async function refused(tenant: Tenant, run: () => Promise<any>, expected: object) {
    const [domains, events] = [await domainCount(tenant), await auditCount(tenant)];
    const r = await run();
    expect(r, JSON.stringify(r)).toMatchObject(expected);
    expect(await domainCount(tenant)).toBe(domains);
    expect(await auditCount(tenant)).toBe(events);
  }

  let alias: { id: string; name: string };

  it('a customer creates an alias of its own domain: same customer, listed both ways, audited, stored once as A-label', async () => {
    const r = await create(A, 'Bücher-Alias.Example', A.domainId);
    const d = success(r, 'domain');
    expect(d).toMatchObject({ name: 'bücher-alias.example', asciiName: 'xn--bcher-alias-thb.example', enabled: true, aliasOf: { id: A.domainId, name: A.domain }, customer: { id: A.customerId } });
    alias = d;
    const list = (await t.ok(DOMAINS, { f: { alias: true } }, A.token)).domains;
    expect(list.edges.map((e: any) => e.node)).toEqual([{ id: d.id, name: 'bücher-alias.example', aliasOf: { name: A.domain }, aliasDomains: [] }]);
    const own = (await t.ok(DOMAINS, { f: { alias: false } }, A.token)).domains.edges.map((e: any) => e.node);
    expect(own).toEqual([{ id: A.domainId, name: A.domain, aliasOf: null, aliasDomains: [{ name: 'bücher-alias.example' }] }]);
    const ev = (await t.ok(`{ auditEvents(first: 1) { edges { node { action targetLabel details } } } }`, {}, A.token)).auditEvents.edges[0].node;
    expect(ev).toMatchObject({ action: 'alias_domain.create', targetLabel: 'bücher-alias.example', details: { target: A.domain } });
  });

  it('refuses a bad or taken name (either IDN form, the target itself), an alias as target, next to the field', async () => {
    await refused(A, () => create(A, 'not a domain', A.domainId), { __typename: 'ValidationError', fieldErrors: [{ field: 'name', code: 'INVALID' }] });
    await refused(A, () => create(A, 'xn--bcher-alias-thb.example', A.domainId), { __typename: 'ValidationError', fieldErrors: [{ field: 'name', code: 'TAKEN' }] });
    await refused(A, () => create(A, A.domain.toUpperCase(), A.domainId), { __typename: 'ValidationError', fieldErrors: [{ field: 'name', code: 'TAKEN' }] });
    await refused(A, () => create(A, B.domain, A.domainId), { __typename: 'ValidationError', fieldErrors: [{ field: 'name', code: 'TAKEN' }] });
    await refused(A, () => create(A, 'chain.example', alias.id), {
      __typename: 'ValidationError',
      fieldErrors: [{ field: 'targetDomainId', code: 'ALIAS_DOMAIN', message: `bücher-alias.example is itself an alias of ${A.domain}: choose ${A.domain}` }],
    });
  });

  it("another tenant's target reads as not found; an admin may alias any domain, for its customer", async () => {
    await refused(B, () => create(B, 'steal.example', A.domainId), { __typename: 'NotFoundError', entity: 'Domain' });
    const r = success(await create({ token: t.adminToken }, 'admin-made.example', B.domainId), 'domain');
    expect(r.customer.id).toBe(B.customerId);
  });

  it("counts against the package's maxDomains", async () => {
    success(await create(A, 'second-alias.example', A.domainId), 'domain'); // 3 of 3
    await refused(A, () => create(A, 'third-alias.example', A.domainId), { __typename: 'LimitExceededError', limit: 'maxDomains', max: 3 });
  });

  it('an alias domain has no mailboxes or forwards of its own', async () => {
    const m = await t.ok(`mutation{ r: createMailbox(username:"x", domain:"bücher-alias.example", password:"mailbox-pass-1"){ ${ERR} } }`, {}, A.token);
    expect(m.r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'domain', code: 'ALIAS_DOMAIN' }] });
    const f = await t.ok(`mutation{ r: createForward(source:"*@second-alias.example", destinations:["a@far.example"]){ ${ERR} } }`, {}, A.token);
    expect(f.r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'source', code: 'ALIAS_DOMAIN' }] });
  });

  it('Postfix lookups: x@alias → x@target for a mailbox, a forward, +tag and the catch-all; nothing for an unknown address', async () => {
    const al = 'xn--bcher-alias-thb.example';
    await createMailbox(t, A.token, 'box', A.domain);
    success((await t.ok(`mutation{ r: createForward(source:"team@${A.domain}", destinations:["out@far.example"]){ ${ERR} ... on MutationCreateForwardSuccess { forward { id } } } }`, {}, A.token)).r, 'forward');
    expect(await lookup(`box@${al}`)).toEqual([`box@${A.domain}`]);
    expect(await lookup(`team@${al}`)).toEqual([`team@${A.domain}`]);
    expect(await lookup(`team+x@${al}`)).toEqual([`team+x@${A.domain}`]);
    // box+x: nothing for the full key; Postfix asks box@alias next and puts the +x back.
    expect(await lookup(`box+x@${al}`)).toEqual([]);
    expect(await lookup(`nobody@${al}`)).toEqual([]);
    expect(await lookup(`@${al}`)).toEqual([]);
    success((await t.ok(`mutation{ r: createForward(source:"*@${A.domain}", destinations:["box@${A.domain}"]){ ${ERR} ... on MutationCreateForwardSuccess { forward { id } } } }`, {}, A.token)).r, 'forward');
    expect(await lookup(`nobody@${al}`)).toEqual([`nobody@${A.domain}`]);
    // A disabled target: every address of the alias is refused (550 5.2.1), in both IDN forms.
    await t.ok(`mutation($id:ID!){ updateDomain(id:$id, enabled:false){ __typename } }`, { id: A.domainId }, t.adminToken);
    expect(await sql(`SELECT key, domain_unicode FROM mail_refused WHERE key = $1`, [al])).toEqual([{ key: al, domain_unicode: 'bücher-alias.example' }]);
    expect(await lookup(`box@${al}`)).toEqual([]);
    await t.ok(`mutation($id:ID!){ updateDomain(id:$id, enabled:true){ __typename } }`, { id: A.domainId }, t.adminToken);
    expect(await sql(`SELECT key FROM mail_refused WHERE key = $1`, [al])).toEqual([]);
  });

  it("rspamd applies the target's spam policy to an alias domain; the alias has no policy of its own to change", async () => {
    const second = (await t.ok(DOMAINS, { f: { search: 'second-alias.example' } }, A.token)).domains.edges[0].node;
    const spam = `mutation($d:ID!){ r: updateSpamSettings(domainId:$d, input:{ threshold: 9.5, action: REJECT }){ ${ERR} } }`;
    expect((await t.ok(spam, { d: A.domainId }, A.token)).r.__typename).toBe('MutationUpdateSpamSettingsSuccess');
    const list = `mutation($d:ID!){ r: addSpamListEntry(domainId:$d, kind:BLACKLIST, value:"@junk.example"){ ${ERR} } }`;
    expect((await t.ok(list, { d: A.domainId }, A.token)).r.__typename).toBe('MutationAddSpamListEntrySuccess');
    const policies = await loadSpamPolicies();
    const of = (domain: string) => policies.find((p) => p.domain === domain);
    expect(of('second-alias.example')).toEqual({ ...of(A.domain), domain: 'second-alias.example' });
    expect(of('second-alias.example')).toMatchObject({ threshold: 9.5, action: 'REJECT', blacklist: ['@junk.example'] });
    for (const doc of [spam, list])
      expect((await t.ok(doc, { d: second.id }, A.token)).r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'domainId', code: 'ALIAS_DOMAIN' }] });
  });

  it('a loop through an alias domain is refused like a forward loop: by createForward, and by createAliasDomain', async () => {
    const C = await createTenant(t, {}, 'aliasc');
    const fw = (s: string, d: string) => t.ok(`mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ ${ERR} ... on MutationCreateForwardSuccess { forward { id } } } }`, { s, d: [d] }, C.token);
    success(await create(C, 'loop-alias.example', C.domainId), 'domain');
    success((await fw(`a@${C.domain}`, 'b@loop-alias.example')).r, 'forward');
    const r = (await fw(`b@${C.domain}`, `a@${C.domain}`)).r;
    expect(r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'destinations', code: 'FORWARD_LOOP', message: `Mail would go round in a loop: b@${C.domain} → a@${C.domain} → b@loop-alias.example → b@${C.domain}` }] });
    // A forward to a name that is not ours yet is no loop, until that name becomes an alias of its domain.
    success((await fw(`c@${C.domain}`, 'c@later-alias.example')).r, 'forward');
    await refused(C, () => create(C, 'later-alias.example', C.domainId), {
      __typename: 'ValidationError',
      fieldErrors: [{ field: 'name', code: 'FORWARD_LOOP', message: `Mail would go round in a loop: c@${C.domain} → c@later-alias.example → c@${C.domain}` }],
    });
    expect(await sql(`SELECT 1 FROM domains WHERE name = 'later-alias.example'`)).toEqual([]);
  });

  it('deleting a mailbox may expose a loop through an alias domain: reported by forwardLoops, and the mail server bounces it (mail_alias_lookup)', async () => {
    const E = await createTenant(t, {}, 'aliase');
    const e = (local: string) => `${local}@${E.domain}`;
    const fw = (s: string, d: string) => t.ok(`mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ ${ERR} ... on MutationCreateForwardSuccess { forward { id } } } }`, { s, d: [d] }, E.token);
    success(await create(E, 'echo-alias.example', E.domainId), 'domain');
    const box = await createMailbox(t, E.token, 'box', E.domain);
    success((await fw(e('a'), 'box@echo-alias.example')).r, 'forward');
    success((await fw(`*@${E.domain}`, e('a'))).r, 'forward');
    expect(await lookup(e('a'))).toEqual(['box@echo-alias.example']);
    const del = await t.ok(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: box.id }, E.token);
    expect(del.deleteMailbox.__typename).toBe('MutationDeleteMailboxSuccess');
    const loops = (await t.ok(`{ forwardLoops { path } }`, {}, E.token)).forwardLoops.map((l: { path: string }) => l.path);
    expect(loops).toEqual([`*@${E.domain} → ${e('a')} → box@echo-alias.example → *@${E.domain}`]);
    expect(await lookup(e('a'))).toEqual(['loop@forward-loop.invalid']);
  });

  it('moving a target moves its aliases; an alias alone does not move; a target with aliases is not deleted', async () => {
    const adminAlias = (await t.ok(DOMAINS, { f: { search: 'admin-made.example' } }, t.adminToken)).domains.edges[0].node;
    const moveAlias = await t.ok(`mutation($id:ID!,$c:ID!){ r: updateDomain(id:$id, customerId:$c){ ${ERR} } }`, { id: adminAlias.id, c: A.customerId }, t.adminToken);
    expect(moveAlias.r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'customerId', code: 'ALIAS_DOMAIN' }] });
    const del = await t.ok(`mutation($id:ID!){ r: deleteDomain(id:$id){ ${ERR} } }`, { id: B.domainId }, t.adminToken);
    expect(del.r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'id', code: 'IN_USE', message: 'Delete its 1 alias domains first' }] });
    const D = await createTenant(t, {}, 'aliasd');
    await t.ok(`mutation($id:ID!,$c:ID!){ r: updateDomain(id:$id, customerId:$c){ ${ERR} } }`, { id: B.domainId, c: D.customerId }, t.adminToken);
    const moved = (await t.ok(DOMAINS, { f: { search: 'admin-made.example' } }, D.token)).domains.edges.map((e: any) => e.node.name);
    expect(moved).toEqual(['admin-made.example']);
  });

  it('deleteAliasDomain removes only an alias domain, of the own tenant, audited', async () => {
    const plain = await t.ok(DELETE, { id: A.domainId }, A.token);
    expect(plain.r).toMatchObject({ __typename: 'NotFoundError', entity: 'Domain' });
    await refused(B, () => t.ok(DELETE, { id: alias.id }, B.token).then((d) => d.r), { __typename: 'NotFoundError' });
    const ok = await t.ok(DELETE, { id: alias.id }, A.token);
    expect(ok.r).toEqual({ __typename: 'MutationDeleteAliasDomainSuccess', deletedId: alias.id });
    expect(await lookup('box@xn--bcher-alias-thb.example')).toEqual([]);
    const ev = (await t.ok(`{ auditEvents(first: 1) { edges { node { action targetLabel } } } }`, {}, A.token)).auditEvents.edges[0].node;
    expect(ev).toEqual({ action: 'alias_domain.delete', targetLabel: 'bücher-alias.example' });
  });
});
