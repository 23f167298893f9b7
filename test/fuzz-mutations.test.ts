// Hostile values in every string argument of every mutation: each answer must be a typed result (a
// success with the value stored as given, or a typed error naming the field) — never a 500, never an
// untyped error. The table must name every mutation of the schema (a new one fails this test until
// it is covered). Values that reach a config language are checked by their renderers' own tests and,
// end to end, by the mail-stack suite (e2e/mailstack/sieve.test.ts compiles these same values with sievec).
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp } from './harness.js';
import { HOSTILE } from './hostile-values.js';


type Vars = Record<string, unknown>;
interface Case {
  doc: string;
  vars: () => Vars;
  /** the string variables to replace with hostile values (list variables get a one-element list) */
  strings: string[];
  token: () => string;
}

describe('hostile strings in every mutation', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t);
  const mailbox = await createMailbox(t, tenant.token, 'fuzz', tenant.domain);
  const forwardId: string = (await t.ok(`mutation($s:String!){ r: createForward(source:$s, destinations:["a@b.example"]){ ... on MutationCreateForwardSuccess { forward { id } } } }`, { s: `fuzzed@${tenant.domain}` }, tenant.token)).r.forward.id;
  const A = () => t.adminToken;
  const C = () => tenant.token;
  const pkg = tenant.packageId;
  const unique = () => `u${Math.random().toString(36).slice(2, 8)}`;

  const cases: Record<string, Case> = {
    login: { doc: `mutation($e:String!,$p:String!){ r: login(email:$e, password:$p){ __typename } }`, vars: () => ({ e: 'a@b.example', p: 'x' }), strings: ['e', 'p'], token: () => '' },
    refreshSession: { doc: `mutation($r:String!){ r: refreshSession(refreshToken:$r){ __typename } }`, vars: () => ({ r: 'mprt_x' }), strings: ['r'], token: () => '' },
    logout: { doc: `mutation($r:String!){ r: logout(refreshToken:$r) }`, vars: () => ({ r: 'x' }), strings: ['r'], token: () => '' },
    completeLogin: { doc: `mutation($c:String!,$k:String!){ r: completeLogin(challenge:$c, code:$k){ __typename } }`, vars: () => ({ c: 'x', k: '123456' }), strings: ['c', 'k'], token: () => '' },
    startTwoFactorEnrolment: { doc: `mutation($c:String){ r: startTwoFactorEnrolment(challenge:$c){ __typename } }`, vars: () => ({ c: 'x' }), strings: ['c'], token: () => '' },
    confirmTwoFactorEnrolment: { doc: `mutation($k:String!,$c:String){ r: confirmTwoFactorEnrolment(code:$k, challenge:$c){ __typename } }`, vars: () => ({ k: '123456', c: 'x' }), strings: ['k', 'c'], token: () => '' },
    disableTwoFactor: { doc: `mutation($k:String!){ r: disableTwoFactor(code:$k){ __typename } }`, vars: () => ({ k: '123456' }), strings: ['k'], token: C },
    regenerateRecoveryCodes: { doc: `mutation($k:String!){ r: regenerateRecoveryCodes(code:$k){ __typename } }`, vars: () => ({ k: '123456' }), strings: ['k'], token: C },
    resetTwoFactor: { doc: `mutation($id:ID!){ r: resetTwoFactor(id:$id){ __typename } }`, vars: () => ({ id: 'VXNlcjow' }), strings: ['id'], token: A },
    createAppPassword: { doc: `mutation($m:ID!,$n:String!){ r: createAppPassword(mailboxId:$m, name:$n, scopes:[IMAP]){ __typename } }`, vars: () => ({ m: mailbox.id, n: 'fuzz' }), strings: ['m', 'n'], token: C },
    revokeAppPassword: { doc: `mutation($id:ID!){ r: revokeAppPassword(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    setAppPasswordsOnly: { doc: `mutation($m:ID!){ r: setAppPasswordsOnly(mailboxId:$m, enabled:false){ __typename } }`, vars: () => ({ m: mailbox.id }), strings: ['m'], token: C },
    endSession: { doc: `mutation($id:ID!){ r: endSession(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    endOtherSessions: { doc: `mutation{ r: endOtherSessions{ __typename } }`, vars: () => ({}), strings: [], token: C },
    setTwoFactorRequirement: { doc: `mutation($c:ID){ r: setTwoFactorRequirement(required:false, customerId:$c){ __typename } }`, vars: () => ({ c: tenant.customerId }), strings: ['c'], token: A },
    createHostingPackage: { doc: `mutation($n:String){ r: createHostingPackage(input:{name:$n}){ __typename } }`, vars: () => ({ n: unique() }), strings: ['n'], token: A },
    updateHostingPackage: { doc: `mutation($id:ID!,$n:String){ r: updateHostingPackage(id:$id, input:{name:$n}){ __typename } }`, vars: () => ({ id: pkg, n: unique() }), strings: ['id', 'n'], token: A },
    deleteHostingPackage: { doc: `mutation($id:ID!){ r: deleteHostingPackage(id:$id){ __typename } }`, vars: () => ({ id: pkg }), strings: ['id'], token: A },
    createCustomer: { doc: `mutation($n:String!,$e:String,$p:ID!){ r: createCustomer(name:$n, email:$e, packageId:$p){ __typename } }`, vars: () => ({ n: unique(), e: 'a@b.example', p: pkg }), strings: ['n', 'e', 'p'], token: A },
    updateCustomer: { doc: `mutation($id:ID!,$n:String,$e:String){ r: updateCustomer(id:$id, name:$n, email:$e){ __typename } }`, vars: () => ({ id: tenant.customerId, n: unique(), e: 'a@b.example' }), strings: ['id', 'n', 'e'], token: A },
    deleteCustomer: { doc: `mutation($id:ID!){ r: deleteCustomer(id:$id){ __typename } }`, vars: () => ({ id: tenant.customerId }), strings: ['id'], token: A },
    createUser: { doc: `mutation($e:String!,$p:String!,$c:ID){ r: createUser(email:$e, password:$p, role:CUSTOMER, customerId:$c){ __typename } }`, vars: () => ({ e: `${unique()}@b.example`, p: 'long-password-1', c: tenant.customerId }), strings: ['e', 'p', 'c'], token: A },
    updateUser: { doc: `mutation($id:ID!,$p:String){ r: updateUser(id:$id, password:$p){ __typename } }`, vars: () => ({ id: 'VXNlcjow', p: 'long-password-2' }), strings: ['id', 'p'], token: A },
    deleteUser: { doc: `mutation($id:ID!){ r: deleteUser(id:$id){ __typename } }`, vars: () => ({ id: 'VXNlcjow' }), strings: ['id'], token: A },
    createApiToken: { doc: `mutation($n:String!){ r: createApiToken(name:$n){ __typename } }`, vars: () => ({ n: 'fuzz' }), strings: ['n'], token: C },
    revokeApiToken: { doc: `mutation($id:ID!){ r: revokeApiToken(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    createDomain: { doc: `mutation($n:String!,$c:ID){ r: createDomain(name:$n, customerId:$c){ __typename } }`, vars: () => ({ n: `${unique()}.example`, c: tenant.customerId }), strings: ['n', 'c'], token: A },
    updateDomain: { doc: `mutation($id:ID!,$c:ID){ r: updateDomain(id:$id, customerId:$c){ __typename } }`, vars: () => ({ id: tenant.domainId, c: tenant.customerId }), strings: ['id', 'c'], token: A },
    deleteDomain: { doc: `mutation($id:ID!){ r: deleteDomain(id:$id){ __typename } }`, vars: () => ({ id: tenant.domainId }), strings: ['id'], token: C },
    createAliasDomain: { doc: `mutation($n:String!,$t:ID!){ r: createAliasDomain(name:$n, targetDomainId:$t){ __typename } }`, vars: () => ({ n: `${unique()}.example`, t: tenant.domainId }), strings: ['n', 't'], token: C },
    deleteAliasDomain: { doc: `mutation($id:ID!){ r: deleteAliasDomain(id:$id){ __typename } }`, vars: () => ({ id: tenant.domainId }), strings: ['id'], token: C },
    createMailbox: { doc: `mutation($u:String!,$d:String!,$p:String!){ r: createMailbox(username:$u, domain:$d, password:$p){ __typename } }`, vars: () => ({ u: unique(), d: tenant.domain, p: 'long-password-3' }), strings: ['u', 'd', 'p'], token: C },
    updateMailbox: { doc: `mutation($id:ID!){ r: updateMailbox(id:$id, quotaMb:10){ __typename } }`, vars: () => ({ id: mailbox.id }), strings: ['id'], token: C },
    setMailboxStatus: { doc: `mutation($id:ID!){ r: setMailboxStatus(id:$id, status:ACTIVE){ __typename } }`, vars: () => ({ id: mailbox.id }), strings: ['id'], token: C },
    changeMailboxPassword: { doc: `mutation($id:ID!,$p:String!){ r: changeMailboxPassword(id:$id, password:$p){ __typename } }`, vars: () => ({ id: mailbox.id, p: 'long-password-4' }), strings: ['id', 'p'], token: C },
    deleteMailbox: { doc: `mutation($id:ID!){ r: deleteMailbox(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    // deletion with restore (issue 16)
    restoreMailbox: { doc: `mutation($id:ID!){ r: restoreMailbox(id:$id){ __typename } }`, vars: () => ({ id: mailbox.id }), strings: ['id'], token: C },
    purgeMailbox: { doc: `mutation($id:ID!){ r: purgeMailbox(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: A },
    recalculateQuota: { doc: `mutation($id:ID!){ r: recalculateQuota(mailboxId:$id){ __typename } }`, vars: () => ({ id: mailbox.id }), strings: ['id'], token: C },
    setAutoresponder: {
      doc: `mutation($id:ID!,$s:String!,$m:String!){ r: setAutoresponder(mailboxId:$id, input:{enabled:true, subject:$s, message:$m}){ __typename } }`,
      vars: () => ({ id: mailbox.id, s: 'Away', m: 'Back soon' }),
      strings: ['id', 's', 'm'],
      token: C,
    },
    createForward: { doc: `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename } }`, vars: () => ({ s: `${unique()}@${tenant.domain}`, d: ['a@b.example'] }), strings: ['s', 'd'], token: C },
    // The source host is fuzzed with every value that is not a resolvable-looking name (no DNS here).
    testImapConnection: {
      doc: `mutation($id:ID,$h:String!,$u:String!,$p:String!){ r: testImapConnection(mailboxId:$id, source:{host:$h, port:1, security:NONE, username:$u, password:$p}){ __typename } }`,
      vars: () => ({ id: mailbox.id, h: '127.0.0.1', u: 'old@legacy.example', p: 'secret' }),
      strings: ['id', 'h', 'u', 'p'],
      token: C,
    },
    startMigration: {
      doc: `mutation($id:ID!,$h:String!,$u:String!,$p:String!){ r: startMigration(mailboxId:$id, source:{host:$h, port:1, security:NONE, username:$u, password:$p}){ __typename } }`,
      vars: () => ({ id: mailbox.id, h: '127.0.0.1', u: 'old@legacy.example', p: 'secret' }),
      strings: ['id', 'h', 'u', 'p'],
      token: C,
    },
    cancelMigration: { doc: `mutation($id:ID!){ r: cancelMigration(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    retryMigration: { doc: `mutation($id:ID!,$p:String!){ r: retryMigration(id:$id, password:$p){ __typename } }`, vars: () => ({ id: 'x', p: 'secret' }), strings: ['id', 'p'], token: C },
    // Bulk migration (issue 16): the CSV and the name; dry runs, and ids of no bulk.
    startBulkMigration: {
      doc: `mutation($c:String!,$n:String){ r: startBulkMigration(input:{csv:$c, dryRun:true, name:$n}){ __typename } }`,
      vars: () => ({ c: `address,host,port,security,username,password\n${mailbox.address},127.0.0.1,1,NONE,u,p`, n: 'fuzz.csv' }),
      strings: ['c', 'n'],
      token: C,
    },
    cancelBulkMigration: { doc: `mutation($id:ID!){ r: cancelBulkMigration(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    retryBulkMigration: { doc: `mutation($id:ID!,$c:String!){ r: retryBulkMigration(id:$id, csv:$c){ __typename } }`, vars: () => ({ id: 'x', c: 'address,host,username,password\na@b.example,h,u,p' }), strings: ['id', 'c'], token: C },
    // Keep-in-sync migrations (sync-migration)
    finishMigration: { doc: `mutation($id:ID!){ r: finishMigration(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    updateForward: { doc: `mutation($id:ID!,$d:[String!]!){ r: updateForward(id:$id, destinations:$d){ __typename } }`, vars: () => ({ id: forwardId, d: ['a@b.example'] }), strings: ['id', 'd'], token: C },
    deleteForward: { doc: `mutation($id:ID!){ r: deleteForward(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    // Email security (no worker runs here: keys stay PENDING, nothing reaches rspamd or DNS).
    enableDkim: { doc: `mutation($d:ID!,$s:String){ r: enableDkim(domainId:$d, selector:$s){ __typename } }`, vars: () => ({ d: tenant.domainId, s: unique() }), strings: ['d', 's'], token: C },
    rotateDkimKey: { doc: `mutation($d:ID!,$s:String){ r: rotateDkimKey(domainId:$d, selector:$s){ __typename } }`, vars: () => ({ d: tenant.domainId, s: unique() }), strings: ['d', 's'], token: C },
    activateDkimKey: { doc: `mutation($id:ID!){ r: activateDkimKey(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    disableDkim: { doc: `mutation($d:ID!){ r: disableDkim(domainId:$d){ __typename } }`, vars: () => ({ d: tenant.domainId }), strings: ['d'], token: C },
    checkDnsRecords: { doc: `mutation($d:ID!){ r: checkDnsRecords(domainId:$d){ __typename } }`, vars: () => ({ d: tenant.domainId }), strings: ['d'], token: C },
    updateSpamSettings: { doc: `mutation($d:ID!){ r: updateSpamSettings(domainId:$d, input:{threshold:6}){ __typename } }`, vars: () => ({ d: tenant.domainId }), strings: ['d'], token: C },
    addSpamListEntry: { doc: `mutation($d:ID!,$v:String!){ r: addSpamListEntry(domainId:$d, kind:BLACKLIST, value:$v){ __typename } }`, vars: () => ({ d: tenant.domainId, v: `${unique()}@spam.example` }), strings: ['d', 'v'], token: C },
    removeSpamListEntry: { doc: `mutation($id:ID!){ r: removeSpamListEntry(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    releaseQuarantined: { doc: `mutation($id:ID!){ r: releaseQuarantined(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    deleteQuarantined: { doc: `mutation($id:ID!){ r: deleteQuarantined(id:$id){ __typename } }`, vars: () => ({ id: 'x' }), strings: ['id'], token: C },
    setSendingLimitOverride: { doc: `mutation($id:ID!){ r: setSendingLimitOverride(id:$id, maxEmailsPerHour:10){ __typename } }`, vars: () => ({ id: mailbox.id }), strings: ['id'], token: A },
    // Bulk import (issue 16, bulk-import): the whole file hostile, a hostile cell, a hostile customer id.
    importMailboxes: {
      doc: `mutation($c:String!,$cu:ID){ r: importMailboxes(input:{ csv:$c, customerId:$cu }){ __typename } }`,
      vars: () => ({ c: `address,password,name\n${unique()}@${tenant.domain},generate,x\n`, cu: null }),
      strings: ['c', 'cu'],
      token: A,
    },
    importForwards: {
      doc: `mutation($c:String!,$cu:ID){ r: importForwards(input:{ csv:$c, customerId:$cu, dryRun:true }){ __typename } }`,
      vars: () => ({ c: `source,destinations\n${unique()}@${tenant.domain},a@b.example\n`, cu: null }),
      strings: ['c', 'cu'],
      token: C,
    },
    importMailboxCells: {
      doc: `mutation($n:String!){ r: importMailboxes(input:{ csv:$n, dryRun:true }){ __typename ... on MutationImportMailboxesSuccess { result { rows { outcome } } } } }`,
      vars: () => ({ n: 'x' }),
      strings: [],
      token: C,
    },
  };
  // A hostile value inside a cell (quoted as CSV quotes it) reaches the row checks, not the parser.
  for (const hostile of HOSTILE) {
    const cell = `"${hostile.replaceAll('"', '""')}"`;
    for (const csv of [`address,password,quota,status,name\n${cell},${cell},${cell},${cell},${cell}\n`, `address,name\nok@${tenant.domain},${cell}\n`]) {
      const r = await t.gql(cases.importMailboxCells!.doc, { n: csv }, tenant.token);
      for (const e of r.errors ?? []) expect(e.extensions?.code, `importMailboxes cell ${JSON.stringify(hostile.slice(0, 40))}: ${e.message}`).not.toBe('INTERNAL_SERVER_ERROR');
    }
  }
  delete cases.importMailboxCells;

  it('covers every mutation', async () => {
    const fields = (await t.ok(`{ __type(name:"Mutation"){ fields { name } } }`)).__type.fields.map((f: { name: string }) => f.name);
    expect(Object.keys(cases).sort()).toEqual([...fields].sort());
  });

  for (const [name, c] of Object.entries(cases)) {
    it(`${name}: every hostile value gets a typed answer`, { timeout: 60_000 }, async () => {
      for (const variable of c.strings) {
        for (const hostile of HOSTILE) {
          if (variable === 'h' && /^[\p{L}\d.-]+\.[\p{L}]{2,}$/u.test(hostile)) continue; // would be a DNS lookup
          const vars = c.vars();
          vars[variable] = Array.isArray(vars[variable]) ? [hostile] : hostile;
          const r = await t.gql(c.doc, vars, c.token() || undefined);
          const where = `${name}(${variable}=${JSON.stringify(hostile.slice(0, 40))})`;
          for (const e of r.errors ?? []) expect(e.extensions?.code, `${where}: ${e.message}`).not.toBe('INTERNAL_SERVER_ERROR');
          // Anything but a typed result must be a documented client error (e.g. NUL characters).
          if (!r.data?.r && r.errors) expect(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST'], where).toContain(r.errors[0]!.extensions?.code ?? 'BAD_REQUEST');
          else if (typeof r.data?.r === 'object') expect(r.data.r.__typename, where).toMatch(/Success$|Error$/);
        }
      }
    });
  }
});
