// Issue 12, item 6: internationalised domains through the API. A domain is typed and shown as its
// U-label (bücher.test) and stored once, as its A-label (xn--bcher-kva.test), which is what the
// mail servers and DNS see; either spelling finds it, logs in, and counts as the same domain.
import { domainToASCII, domainToUnicode } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CREATE_MAILBOX, createTenant, sql, startTestApp, success } from '../../test/harness.js';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } }`;
const CREATE_DOMAIN = `mutation($n:String!){ r: createDomain(name:$n){ __typename ... on MutationCreateDomainSuccess { domain { id name asciiName dmarcRecord { name } } } ${ERR} } }`;
const DOMAINS = `query($s:String){ domains(filter:{search:$s}) { totalCount edges { node { name asciiName } } } }`;
const MAILBOXES = `query($s:String){ mailboxes(filter:{search:$s}) { totalCount edges { node { address asciiAddress domain { name } } } } }`;
const LOGIN = `mutation($e:String!,$p:String!){ login(email:$e,password:$p){ __typename ... on MutationLoginSuccess { session { accessToken } } ... on Error { message } } }`;
const PW = 'mailbox-pass-1';

describe('internationalised domains (issue 12)', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t, { maxDomains: 10, maxMailboxes: 10, maxForwards: 10 });
  const createDomain = async (n: string) => (await t.ok(CREATE_DOMAIN, { n }, tenant.token)).r;
  const domainCount = async () => (await sql(`SELECT count(*)::int AS n FROM domains`))[0].n as number;
  const names = (r: any) => r.edges.map((e: any) => e.node.name).sort();

  it('a domain typed in Unicode is shown in Unicode and stored as its A-label; DNS record names use the A-label', async () => {
    const r = await createDomain('Bücher.TEST');
    expect(r.__typename).toBe('MutationCreateDomainSuccess');
    expect(r.domain).toMatchObject({ name: 'bücher.test', asciiName: 'xn--bcher-kva.test', dmarcRecord: { name: '_dmarc.xn--bcher-kva.test' } });
    const node = (await t.ok(`query($id:ID!){ node(id:$id){ ... on Domain { name asciiName } } }`, { id: r.domain.id }, tenant.token)).node;
    expect(node).toEqual({ name: 'bücher.test', asciiName: 'xn--bcher-kva.test' });
    // What the daemons read: the A-label, with its U-label beside it.
    expect(await sql(`SELECT domain, domain_unicode FROM mail_domains WHERE domain = $1`, ['xn--bcher-kva.test'])).toEqual([
      { domain: 'xn--bcher-kva.test', domain_unicode: 'bücher.test' },
    ]);
  });

  it('a domain typed as its A-label is shown in Unicode too', async () => {
    const r = await createDomain('xn--mnchen-3ya.test');
    expect(r.domain).toMatchObject({ name: 'münchen.test', asciiName: 'xn--mnchen-3ya.test' });
  });

  it('the same domain in the other form, another case or decomposed Unicode is a duplicate (name TAKEN), and nothing is written', async () => {
    const before = await domainCount();
    for (const n of ['xn--bcher-kva.test', 'BÜCHER.test', 'bu\u0308cher.test', 'münchen.test']) {
      const r = await createDomain(n);
      expect(r.__typename, n).toBe('ValidationError');
      expect(r.fieldErrors, n).toEqual([{ field: 'name', code: 'TAKEN' }]);
    }
    expect(await domainCount()).toBe(before);
  });

  it('an invalid IDN is refused on the name field (INVALID), and nothing is written', async () => {
    const before = await domainCount();
    for (const n of ['xn--zz.test', 'xn--bcher-kva-.test', 'bü cher.test', 'ab--cd.test', '-bücher.test', 'bücher', `${'ü'.repeat(64)}.test`]) {
      const r = await createDomain(n);
      expect(r.__typename, n).toBe('ValidationError');
      expect(r.fieldErrors, n).toEqual([{ field: 'name', code: 'INVALID' }]);
    }
    expect(await domainCount()).toBe(before);
  });

  it('search finds a domain by either form, whole or in part', async () => {
    for (const s of ['bücher', 'BÜCH', 'bücher.test', 'xn--bcher', 'xn--bcher-kva.test', 'bu\u0308cher']) {
      const r = (await t.ok(DOMAINS, { s }, tenant.token)).domains;
      expect(names(r), s).toEqual(['bücher.test']);
    }
    expect(names((await t.ok(DOMAINS, { s: 'ünch' }, tenant.token)).domains)).toEqual(['münchen.test']);
  });

  it('mailboxes are created with either form of the domain, shown in Unicode and found by either form', async () => {
    const info = success((await t.ok(CREATE_MAILBOX, { u: 'info', d: 'bücher.test', p: PW }, tenant.token)).createMailbox, 'mailbox');
    expect(info.address).toBe('info@bücher.test');
    const sales = success((await t.ok(CREATE_MAILBOX, { u: 'sales', d: 'xn--bcher-kva.test', p: PW }, tenant.token)).createMailbox, 'mailbox');
    expect(sales.address).toBe('sales@bücher.test');
    // One mailbox per address, whichever form it is typed in.
    const again = (await t.ok(CREATE_MAILBOX, { u: 'info', d: 'xn--bcher-kva.test', p: PW }, tenant.token)).createMailbox;
    expect(again.fieldErrors).toEqual([expect.objectContaining({ field: 'username', code: 'TAKEN' })]);

    const found = (s: string) => t.ok(MAILBOXES, { s }, tenant.token).then((d) => d.mailboxes.edges.map((e: any) => e.node.address).sort());
    expect(await found('info@bücher.test')).toEqual(['info@bücher.test']);
    expect(await found('info@xn--bcher-kva.test')).toEqual(['info@bücher.test']);
    expect(await found('büch')).toEqual(['info@bücher.test', 'sales@bücher.test']);
    // listing-speed: only the Unicode name holds these (the stored addresses read xn--bcher-kva.test).
    expect(await found('cher.test')).toEqual(['info@bücher.test', 'sales@bücher.test']);
    expect((await t.ok(MAILBOXES, { s: 'cher.test' }, tenant.token)).mailboxes.totalCount).toBe(2);
    const one = (await t.ok(MAILBOXES, { s: 'sales@' }, tenant.token)).mailboxes.edges[0].node;
    expect(one).toEqual({ address: 'sales@bücher.test', asciiAddress: 'sales@xn--bcher-kva.test', domain: { name: 'bücher.test' } });
    // The daemons' row: the stored address, its domain's U-label beside it.
    expect(await sql(`SELECT email, domain, domain_unicode FROM mail_users WHERE local_part = 'info' AND domain = $1`, ['xn--bcher-kva.test'])).toEqual([
      { email: 'info@xn--bcher-kva.test', domain: 'xn--bcher-kva.test', domain_unicode: 'bücher.test' },
    ]);
  });

  it('a Unicode local part is refused (username INVALID): only the domain may be internationalised', async () => {
    const r = (await t.ok(CREATE_MAILBOX, { u: 'jörg', d: 'bücher.test', p: PW }, tenant.token)).createMailbox;
    expect(r.fieldErrors).toEqual([expect.objectContaining({ field: 'username', code: 'INVALID' })]);
  });

  it('the mailbox owner logs in to the panel with either form of the address and sees it in Unicode', async () => {
    for (const e of ['info@bücher.test', 'INFO@Bücher.Test', 'info@xn--bcher-kva.test']) {
      const r = (await t.ok(LOGIN, { e, p: PW })).login;
      expect(r.__typename, e).toBe('MutationLoginSuccess');
      const v = (await t.ok(`{ viewer { kind label mailbox { address } } }`, {}, r.session.accessToken)).viewer;
      expect(v, e).toEqual({ kind: 'MAILBOX', label: 'info@bücher.test', mailbox: { address: 'info@bücher.test' } });
    }
    expect((await t.ok(LOGIN, { e: 'info@bücher.test', p: 'wrong-password' })).login.__typename).not.toBe('MutationLoginSuccess');
  });

  it('rows stored as A-labels before the U-label column existed, or written by SQL, get the same U-label Node computes', async () => {
    const samples = ['bücher.test', 'straße.de', 'пример.рф', '日本.jp', 'xn--ls8h.la', '☃.test', 'ελληνικά.gr', 'mañana.com', 'ﬁ.test', 'ab.xn--p1ai', 'plain.example', 'déjà-vu.fr', 'ü.ü.ü.test'];
    for (const d of samples) {
      const ascii = domainToASCII(d);
      const [row] = await sql(`SELECT idn_to_unicode($1) AS u`, [ascii]);
      expect(row.u, ascii).toBe(domainToUnicode(ascii));
    }
    expect((await sql(`SELECT punycode_decode('zz') AS u`))[0].u).toBeNull();
    const [cust] = await sql(`SELECT id FROM customers LIMIT 1`);
    const [ins] = await sql(`INSERT INTO domains (name, customer_id) VALUES ('xn--kln-sna.example', $1) RETURNING name_unicode`, [cust.id]);
    expect(ins.name_unicode).toBe('köln.example');
    await sql(`DELETE FROM domains WHERE name = 'xn--kln-sna.example'`);
  });

  it('forward sources and destinations in either form are stored with the A-label the daemons route by', async () => {
    const r = (
      await t.ok(
        `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ... on MutationCreateForwardSuccess { forward { id } } ${ERR} } }`,
        { s: 'team@bücher.test', d: ['info@xn--bcher-kva.test', 'sales@Bücher.test', 'partner@straße.example'] },
        tenant.token,
      )
    ).r;
    expect(r.__typename).toBe('MutationCreateForwardSuccess');
    const rows = await sql(`SELECT source, destination FROM mail_aliases WHERE source = $1 ORDER BY destination`, ['team@xn--bcher-kva.test']);
    expect(rows.map((x) => x.destination)).toEqual(['info@xn--bcher-kva.test', 'partner@xn--strae-oqa.example', 'sales@xn--bcher-kva.test']);
    // … and shown in Unicode.
    const shown = (await t.ok(`query($id:ID!){ node(id:$id){ ... on Forward { source destinations } } }`, { id: r.forward.id }, tenant.token)).node;
    expect(shown).toEqual({ source: 'team@bücher.test', destinations: ['info@bücher.test', 'sales@bücher.test', 'partner@straße.example'] });
  });

  it('forwards are found by either form of the source, in part, and by a whole destination in either form', async () => {
    const found = (s: string) =>
      t.ok(`query($s:String){ forwards(filter:{search:$s}) { totalCount edges { node { source } } } }`, { s }, tenant.token).then((d) => {
        expect(d.forwards.totalCount, s).toBe(d.forwards.edges.length);
        return d.forwards.edges.map((e: any) => e.node.source);
      });
    for (const s of ['team@bücher.test', 'team@xn--bcher-kva.test', 'bücher.test', 'büch', 'xn--bcher', 'partner@straße.example', 'partner@xn--strae-oqa.example', 'sales@Bücher.test'])
      expect(await found(s), s).toEqual(['team@bücher.test']);
    // A destination is matched whole, not in part.
    expect(await found('partner@straße')).toEqual([]);
  });
});
