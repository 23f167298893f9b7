// DKIM keys, recommended DNS records, the DNS check and the spam policy through GraphQL, with the real
// worker writing the files rspamd reads (key files, selector map, settings map). What rspamd does with
// those files is proven in the mail-stack suite (e2e/mailstack/email-security.test.ts).
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { createMailbox, createTenant, startTestApp, waitFor } from '../../test/harness.js';
import { startTestDnsServer } from '../../test/dns-server.js';

const dns = await startTestDnsServer();
afterAll(() => dns.close());
process.env.DNS_SERVER = dns.address;
process.env.DKIM_KEY_GROUP = 'daemon';
process.env.MAIL_HOSTNAME = 'mx.panel.test';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code } } ... on NotFoundError { entity } ... on LimitExceededError { limit max }`;
const KEY = `id selector algorithm status provisioning activatedAt retiredAt dnsRecord { name type value values zoneValue }`;
const DOMAIN = `id name dkim { ${KEY} } dkimKeys { ${KEY} } spfRecord { name value values } dmarcRecord { name value }
  spamSettings { threshold action greylisting updatedAt }`;
const M = {
  enable: `mutation($d:ID!,$s:String,$a:DkimAlgorithm){ r: enableDkim(domainId:$d, selector:$s, algorithm:$a){ __typename ... on MutationEnableDkimSuccess { domain { ${DOMAIN} } } ${ERR} } }`,
  disable: `mutation($d:ID!){ r: disableDkim(domainId:$d){ __typename ... on MutationDisableDkimSuccess { domain { ${DOMAIN} } } ${ERR} } }`,
  rotate: `mutation($d:ID!,$s:String,$a:DkimAlgorithm){ r: rotateDkimKey(domainId:$d, selector:$s, algorithm:$a){ __typename ... on MutationRotateDkimKeySuccess { domain { ${DOMAIN} } } ${ERR} } }`,
  activate: `mutation($id:ID!){ r: activateDkimKey(id:$id){ __typename ... on MutationActivateDkimKeySuccess { domain { ${DOMAIN} } } ${ERR} } }`,
  check: `mutation($d:ID!){ r: checkDnsRecords(domainId:$d){ __typename ... on MutationCheckDnsRecordsSuccess { check { checkedAt domain { id } records { kind selector name status found error expected { value values } } } } ${ERR} } }`,
  spam: `mutation($d:ID!,$i:SpamSettingsInput!){ r: updateSpamSettings(domainId:$d, input:$i){ __typename ... on MutationUpdateSpamSettingsSuccess { domain { spamSettings { threshold action greylisting updatedAt } } } ${ERR} } }`,
  add: `mutation($d:ID!,$k:SpamListKind!,$v:String!){ r: addSpamListEntry(domainId:$d, kind:$k, value:$v){ __typename ... on MutationAddSpamListEntrySuccess { entry { id kind value domain { id } } } ${ERR} } }`,
  remove: `mutation($id:ID!){ r: removeSpamListEntry(id:$id){ __typename ... on MutationRemoveSpamListEntrySuccess { deletedId } ${ERR} } }`,
};
const domainQuery = `query($id:ID!){ node(id:$id){ ... on Domain { ${DOMAIN} spamList(first:50){ totalCount edges { node { kind value } } } } } }`;

describe('email security: DKIM, DNS records, spam policy', async () => {
  const t = await startTestApp({ worker: true });
  const A = await createTenant(t);
  const B = await createTenant(t);
  const dataDir = process.env.DATA_DIR!;
  const dkimDir = path.join(dataDir, 'dkim');
  const mapsDir = path.join(dataDir, 'rspamd');
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  const selectorMap = () => read(path.join(mapsDir, 'dkim_selectors.map'));
  const settingsMap = () => read(path.join(mapsDir, 'settings.ucl'));
  const domainOf = async (id: string, token = A.token) => (await t.ok(domainQuery, { id }, token)).node;
  const readyKey = (id: string, selector: string) =>
    waitFor(async () => {
      const d = await domainOf(id);
      const k = d.dkimKeys.find((x: any) => x.selector === selector);
      return k?.provisioning === 'READY' && d;
    }, `key ${selector} generated`, 30_000);

  it('enableDkim: the worker makes an RSA-2048 key, writes its 0640 key file and names it in the selector map; the record splits at 255 bytes', async () => {
    const r = (await t.ok(M.enable, { d: A.domainId, s: 'Mail' }, A.token)).r;
    expect(r.__typename).toBe('MutationEnableDkimSuccess');
    expect(r.domain.dkim).toMatchObject({ selector: 'mail', algorithm: 'RSA_2048', status: 'ACTIVE' });
    // The worker makes the pair after the commit; until then there is no record to show.
    if (r.domain.dkim.provisioning === 'PENDING') expect(r.domain.dkim.dnsRecord).toBeNull();
    const d = await readyKey(A.domainId, 'mail');
    const rec = d.dkim.dnsRecord;
    expect(rec.name).toBe(`mail._domainkey.${A.domain}`);
    expect(rec.type).toBe('TXT');
    expect(rec.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$/);
    expect(rec.values.length).toBe(2);
    expect(rec.values.join('')).toBe(rec.value);
    expect(rec.values.every((v: string) => Buffer.byteLength(v) <= 255)).toBe(true);

    const keyFile = path.join(dkimDir, `${A.domain}.mail.key`);
    await waitFor(async () => existsSync(keyFile) && selectorMap().includes(`${A.domain} mail`), 'files written');
    const st = statSync(keyFile);
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.gid).toBe(1); // DKIM_KEY_GROUP=daemon
    // The key file's public half is exactly what the panel tells the customer to publish.
    const pem = readFileSync(keyFile, 'utf8');
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const pub = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('base64');
    expect(rec.value).toBe(`v=DKIM1; k=rsa; p=${pub}`);
    expect((createPrivateKey(pem).asymmetricKeyDetails ?? {}).modulusLength).toBe(2048);
  });

  it('never returns the private key: no field exposes it, and the stored copy is ciphertext', async () => {
    const introspection = await t.ok(`{ __type(name:"DkimKey"){ fields { name } } }`);
    expect(introspection.__type.fields.map((f: { name: string }) => f.name).filter((n: string) => /priv|secret/i.test(n))).toEqual([]);
    const everything = JSON.stringify(await domainOf(A.domainId, t.adminToken));
    const pem = readFileSync(path.join(dkimDir, `${A.domain}.mail.key`), 'utf8');
    const body = pem.split('\n')[1]!;
    expect(everything).not.toContain(body);
    expect(everything).not.toContain('PRIVATE KEY');
    const { db } = await import('../../core/src/db.js');
    const row = await db().dkimKey.findFirstOrThrow({ where: { selector: 'mail', domain: { name: A.domain } } });
    expect(row.privateKeyEnc).toMatch(/^v1:/);
    expect(row.privateKeyEnc).not.toContain(body);
  });

  it('enableDkim validates: twice, a bad selector, another tenant', async () => {
    expect((await t.ok(M.enable, { d: A.domainId }, A.token)).r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'domainId', code: 'ALREADY_ENABLED' }] });
    for (const s of ['a.b', '-x', 'x y', 'x'.repeat(64), '../../etc', 'mail"key'])
      expect((await t.ok(M.enable, { d: B.domainId, s }, B.token)).r, s).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'selector', code: 'INVALID' }] });
    expect((await t.ok(M.enable, { d: A.domainId }, B.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Domain' });
    expect((await t.ok(M.rotate, { d: B.domainId }, B.token)).r).toMatchObject({ fieldErrors: [{ field: 'domainId', code: 'NOT_ENABLED' }] });
  });

  it('rotateDkimKey: a new selector beside the old one (both records shown); the old key signs until activateDkimKey', async () => {
    expect((await t.ok(M.rotate, { d: A.domainId, s: 'mail' }, A.token)).r).toMatchObject({ fieldErrors: [{ field: 'selector', code: 'TAKEN' }] });
    const r = (await t.ok(M.rotate, { d: A.domainId, s: 'mail2', a: 'ED25519' }, A.token)).r;
    expect(r.domain.dkimKeys.map((k: any) => [k.selector, k.status])).toEqual([
      ['mail2', 'PENDING'],
      ['mail', 'ACTIVE'],
    ]);
    expect((await t.ok(M.rotate, { d: A.domainId }, A.token)).r).toMatchObject({ fieldErrors: [{ field: 'domainId', code: 'ROTATION_PENDING' }] });
    const d = await readyKey(A.domainId, 'mail2');
    const pending = d.dkimKeys.find((k: any) => k.selector === 'mail2');
    expect(pending.dnsRecord).toMatchObject({ name: `mail2._domainkey.${A.domain}` });
    expect(pending.dnsRecord.value).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    expect(pending.dnsRecord.values).toEqual([pending.dnsRecord.value]);
    expect(d.dkim.selector).toBe('mail');
    // The pending key's file is ready in advance (Ed25519 as rspamd reads it: base64 of seed ‖ public key),
    // but rspamd still signs with the old selector.
    const edFile = path.join(dkimDir, `${A.domain}.mail2.key`);
    await waitFor(async () => existsSync(edFile), 'pending key file');
    const raw = Buffer.from(readFileSync(edFile, 'utf8').trim(), 'base64');
    expect(raw.length).toBe(64);
    expect(raw.subarray(32).toString('base64')).toBe(pending.dnsRecord.value.split('p=')[1]);
    expect(selectorMap()).toContain(`${A.domain} mail\n`);

    const act = (await t.ok(M.activate, { id: pending.id }, A.token)).r;
    expect(act.domain.dkim).toMatchObject({ selector: 'mail2', status: 'ACTIVE' });
    expect(act.domain.dkimKeys.map((k: any) => k.selector)).toEqual(['mail2']);
    await waitFor(async () => selectorMap().includes(`${A.domain} mail2\n`) && !existsSync(path.join(dkimDir, `${A.domain}.mail.key`)), 'selector switched');
    expect((await t.ok(M.activate, { id: pending.id }, A.token)).r).toMatchObject({ fieldErrors: [{ field: 'id', code: 'NOT_PENDING' }] });
    expect((await t.ok(M.activate, { id: pending.id }, B.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'DkimKey' });
  });

  it('checkDnsRecords asks the configured DNS server and reports MISSING, DIFFERENT and MATCH per record', async () => {
    const d = await domainOf(A.domainId);
    // The TXT records (the mail service records that follow are the next test's).
    const txt = (check: any) => ({ ...check, records: check.records.filter((r: any) => ['DKIM', 'SPF', 'DMARC'].includes(r.kind)) });
    const missing = txt((await t.ok(M.check, { d: A.domainId }, A.token)).r.check);
    expect(missing.records.map((r: any) => [r.kind, r.selector, r.status])).toEqual([
      ['DKIM', 'mail2', 'MISSING'],
      ['SPF', null, 'MISSING'],
      ['DMARC', null, 'MISSING'],
    ]);
    expect(dns.queries.map((q) => q.name)).toEqual(expect.arrayContaining([`mail2._domainkey.${A.domain}`, A.domain, `_dmarc.${A.domain}`]));

    dns.txt.set(`mail2._domainkey.${A.domain}`, [['v=DKIM1; k=ed25519; p=c29tZSBvdGhlciBrZXk=']]);
    dns.txt.set(A.domain, [['v=spf1 -all']]);
    dns.txt.set(`_dmarc.${A.domain}`, [['v=DMARC1; p=none']]);
    const different = txt((await t.ok(M.check, { d: A.domainId }, A.token)).r.check);
    expect(different.records.map((r: any) => r.status)).toEqual(['DIFFERENT', 'DIFFERENT', 'DIFFERENT']);
    expect(different.records[1].found).toEqual(['v=spf1 -all']);

    // Published exactly as shown, the DKIM value split in DNS strings as the panel split it.
    dns.txt.set(`mail2._domainkey.${A.domain}`, [d.dkim.dnsRecord.values]);
    dns.txt.set(A.domain, [['google-site-verification=abc'], d.spfRecord.values]);
    dns.txt.set(`_dmarc.${A.domain}`, [[d.dmarcRecord.value]]);
    expect(d.spfRecord.value).toBe('v=spf1 mx a:mx.panel.test ~all');
    const match = txt((await t.ok(M.check, { d: A.domainId }, A.token)).r.check);
    expect(match.records.map((r: any) => r.status)).toEqual(['MATCH', 'MATCH', 'MATCH']);
    expect(match.domain.id).toBe(A.domainId);
    expect((await t.ok(M.check, { d: A.domainId }, B.token)).r).toMatchObject({ __typename: 'NotFoundError' });
  });

  it('mail service records (MX, autoconfig, autodiscover, SRV) are listed and checked against DNS', async () => {
    const q = `query($id:ID!){ node(id:$id){ ... on Domain { mailRecords { kind record { name type value zoneValue } } } } }`;
    const listed = (await t.ok(q, { id: A.domainId }, A.token)).node.mailRecords;
    expect(listed.map((m: any) => [m.kind, m.record.type, m.record.name, m.record.value])).toEqual([
      ['MX', 'MX', A.domain, '10 mx.panel.test'],
      ['AUTOCONFIG', 'CNAME', `autoconfig.${A.domain}`, 'mx.panel.test'],
      ['AUTODISCOVER', 'CNAME', `autodiscover.${A.domain}`, 'mx.panel.test'],
      ['SRV', 'SRV', `_imaps._tcp.${A.domain}`, '0 1 993 mx.panel.test'],
      ['SRV', 'SRV', `_submission._tcp.${A.domain}`, '0 1 587 mx.panel.test'],
    ]);
    const mailChecks = async () =>
      (await t.ok(M.check, { d: A.domainId }, A.token)).r.check.records.filter((r: any) => !['DKIM', 'SPF', 'DMARC'].includes(r.kind)).map((r: any) => [r.name, r.status, r.found]);

    dns.hosts.delete(A.domain);
    for (const n of ['autoconfig', 'autodiscover', '_imaps._tcp', '_submission._tcp']) dns.hosts.delete(`${n}.${A.domain}`);
    expect((await mailChecks()).map(([, status]: any) => status)).toEqual(['MISSING', 'MISSING', 'MISSING', 'MISSING', 'MISSING']);

    // Published elsewhere: another MX host, autoconfig at another host, IMAP on the plain port.
    dns.hosts.set(A.domain, [{ type: 'MX', preference: 10, exchange: 'mail.elsewhere.test' }]);
    dns.hosts.set(`autoconfig.${A.domain}`, [{ type: 'CNAME', target: 'autoconfig.elsewhere.test' }]);
    dns.hosts.set(`_imaps._tcp.${A.domain}`, [{ type: 'SRV', priority: 0, weight: 1, port: 143, target: 'mx.panel.test' }]);
    expect(await mailChecks()).toEqual([
      [A.domain, 'DIFFERENT', ['10 mail.elsewhere.test']],
      [`autoconfig.${A.domain}`, 'DIFFERENT', ['autoconfig.elsewhere.test']],
      [`autodiscover.${A.domain}`, 'MISSING', []],
      [`_imaps._tcp.${A.domain}`, 'DIFFERENT', ['0 1 143 mx.panel.test']],
      [`_submission._tcp.${A.domain}`, 'MISSING', []],
    ]);

    // As shown (a backup MX beside ours is fine).
    dns.hosts.set(A.domain, [{ type: 'MX', preference: 20, exchange: 'backup.elsewhere.test' }, { type: 'MX', preference: 10, exchange: 'mx.panel.test' }]);
    dns.hosts.set(`autoconfig.${A.domain}`, [{ type: 'CNAME', target: 'mx.panel.test' }]);
    dns.hosts.set(`autodiscover.${A.domain}`, [{ type: 'CNAME', target: 'mx.panel.test' }]);
    dns.hosts.set(`_imaps._tcp.${A.domain}`, [{ type: 'SRV', priority: 0, weight: 1, port: 993, target: 'mx.panel.test' }]);
    dns.hosts.set(`_submission._tcp.${A.domain}`, [{ type: 'SRV', priority: 0, weight: 1, port: 587, target: 'mx.panel.test' }]);
    expect((await mailChecks()).map(([, status]: any) => status)).toEqual(['MATCH', 'MATCH', 'MATCH', 'MATCH', 'MATCH']);
  });

  it('a DNS server that does not answer is a failed lookup, not a missing record', async () => {
    const silent = await startTestDnsServer();
    const addr = silent.address;
    await silent.close(); // nothing listens there any more
    const { lookupTxt } = await import('../../api/src/dns-lookup.js');
    const r = await lookupTxt(`mail2._domainkey.${A.domain}`, { server: addr, timeoutMs: 300 });
    expect(r).toMatchObject({ ok: false, error: expect.stringMatching(/DNS|time/) });
  });

  it('disableDkim retires every key, empties the selector map entry and removes the key files', async () => {
    const r = (await t.ok(M.disable, { d: A.domainId }, A.token)).r;
    expect(r.domain.dkim).toBeNull();
    expect(r.domain.dkimKeys).toEqual([]);
    await waitFor(async () => !selectorMap().includes(A.domain) && !readdirSync(dkimDir).some((f) => f.startsWith(`${A.domain}.`)), 'files removed');
    // Enabling again must use a fresh selector: the retired ones stay taken.
    expect((await t.ok(M.enable, { d: A.domainId, s: 'mail' }, A.token)).r).toMatchObject({ fieldErrors: [{ field: 'selector', code: 'TAKEN' }] });
    const again = (await t.ok(M.enable, { d: A.domainId }, A.token)).r;
    expect(again.domain.dkim.selector).toMatch(/^s\d{8}$/);
  });

  it('updateSpamSettings validates and writes the domain’s rule into rspamd’s settings map', async () => {
    const before = await domainOf(B.domainId, B.token);
    expect(before.spamSettings).toEqual({ threshold: 6, action: 'MARK', greylisting: false, updatedAt: null });
    for (const threshold of [0.5, 50.5, -3, 1e9])
      expect((await t.ok(M.spam, { d: B.domainId, i: { threshold } }, B.token)).r, String(threshold)).toMatchObject({
        __typename: 'ValidationError',
        fieldErrors: [{ field: 'threshold', code: 'OUT_OF_RANGE' }],
      });
    expect((await t.ok(M.spam, { d: B.domainId, i: {} }, B.token)).r).toMatchObject({ fieldErrors: [{ field: 'input', code: 'REQUIRED' }] });
    const bad = await t.gql(M.spam, { d: B.domainId, i: { action: 'DISCARD' } }, B.token);
    expect(bad.errors?.[0]?.message).toMatch(/SpamAction/);

    const r = (await t.ok(M.spam, { d: B.domainId, i: { threshold: 4.256, action: 'REJECT', greylisting: true } }, B.token)).r;
    expect(r.domain.spamSettings).toMatchObject({ threshold: 4.26, action: 'REJECT', greylisting: true });
    expect(r.domain.spamSettings.updatedAt).not.toBeNull();
    await waitFor(async () => (settingsMap().split(`# ${B.domain}`)[1] ?? '').includes('reject = 4.26;'), 'settings map');
    const rule = settingsMap().split(`# ${B.domain}`)[1]!;
    expect(rule).toContain('panel_spam_action = "reject";');
    expect(rule).toContain('actions { reject = 4.26; "add header" = null; "rewrite subject" = null; greylist = -1000.00; }');
    expect((await t.ok(M.spam, { d: B.domainId, i: { action: 'MARK' } }, A.token)).r).toMatchObject({ __typename: 'NotFoundError' });
    const audit = await t.ok(`{ auditEvents(filter:{action:"spam.settings"}){ edges { node { targetLabel details } } } }`, {}, B.token);
    expect(audit.auditEvents.edges[0].node).toEqual({ targetLabel: B.domain, details: { spamThreshold: 4.26, spamAction: 'REJECT', greylisting: true } });
  });

  it('white/blacklist entries: addresses and @domains, normalised, one list per sender, hostile values refused', async () => {
    const wl = (await t.ok(M.add, { d: B.domainId, k: 'WHITELIST', v: '  Friend@Partner.TEST ' }, B.token)).r;
    expect(wl).toMatchObject({ __typename: 'MutationAddSpamListEntrySuccess', entry: { kind: 'WHITELIST', value: 'friend@partner.test' } });
    const bl = (await t.ok(M.add, { d: B.domainId, k: 'BLACKLIST', v: '@Spam.Example' }, B.token)).r;
    expect(bl.entry).toMatchObject({ kind: 'BLACKLIST', value: '@spam.example' });
    expect((await t.ok(M.add, { d: B.domainId, k: 'BLACKLIST', v: 'friend@partner.test' }, B.token)).r).toMatchObject({
      __typename: 'ValidationError',
      message: expect.stringContaining('already on the whitelist'),
      fieldErrors: [{ field: 'value', code: 'TAKEN' }],
    });
    for (const v of ['', 'no-at-sign', '@', '@localhost', 'a b@c.test', 'x@y.test\nz@w.test', '"; whitelist = true; "@x.test', '/.*/', 'map:/etc/passwd', 'a@b@c.test', '@-bad-.test'])
      expect((await t.ok(M.add, { d: B.domainId, k: 'WHITELIST', v }, B.token)).r, JSON.stringify(v)).toMatchObject({ fieldErrors: [{ field: 'value', code: 'INVALID' }] });
    // A valid address rspamd's settings language could not hold literally ($ expands in UCL).
    expect((await t.ok(M.add, { d: B.domainId, k: 'WHITELIST', v: 'a$b@x.test' }, B.token)).r).toMatchObject({ fieldErrors: [{ field: 'value', code: 'UNSUPPORTED' }] });

    await waitFor(async () => settingsMap().includes('"@spam.example"'), 'lists in the settings map');
    const rules = settingsMap().split(`# ${B.domain}`)[1]!;
    expect(rules).toMatch(/panel_wl_\d+ \{\n  priority = 3;\n  rcpt = "@[^"]+";\n  from = \["friend@partner\.test"\];/);
    expect(rules).toMatch(/panel_bl_\d+ \{[^}]*from = \["@spam\.example"\];[^}]*symbols = \["PANEL_SENDER_BLACKLIST"\];/);

    const list = (await domainOf(B.domainId, B.token)).spamList;
    expect(list.totalCount).toBe(2);
    expect((await t.ok(M.remove, { id: wl.entry.id }, A.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'SpamListEntry' });
    expect((await t.ok(M.remove, { id: wl.entry.id }, B.token)).r).toEqual({ __typename: 'MutationRemoveSpamListEntrySuccess', deletedId: wl.entry.id });
    await waitFor(async () => !settingsMap().includes('friend@partner.test'), 'entry gone from the map');
    expect(decodeGlobalID(bl.entry.id).typename).toBe('SpamListEntry');
  });

  it('mailbox owners and read-only tokens cannot change the policy', async () => {
    const m = await createMailbox(t, A.token, 'owner', A.domain);
    const owner = await t.login(m.address, 'mailbox-pass-1');
    const r = await t.gql(M.spam, { d: A.domainId, i: { action: 'REJECT' } }, owner);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const q = await t.gql(`query($id:ID!){ node(id:$id){ ... on Domain { spamSettings { action } } } }`, { id: A.domainId }, owner);
    expect(q.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
