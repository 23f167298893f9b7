// Every mutation leaves an audit event (who, what, which target, when, from where), written in the
// same transaction as the change. The table below must name every mutation of the schema.
import { describe, expect, it } from 'vitest';
import { ADMIN, createTenant, startTestApp, success } from '../../test/harness.js';
import { currentCode } from '../src/auth/two-factor.js';

describe('audit trail', async () => {
  // No worker: a running migration could fail (its source is a closed port) before cancel/retry ran.
  const t = await startTestApp({ listen: true });
  // Over real HTTP so the client address is recorded.
  const http = async (query: string, variables: Record<string, unknown> = {}, token?: string) => {
    const res = await fetch(`${t.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { data?: any; errors?: unknown[] };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const tenant = await createTenant(t);
  const A = t.adminToken;
  const ids: Record<string, string> = {};
  const tf: { secret: string; codes: string[] } = { secret: '', codes: [] };

  const steps: [mutation: string, action: string, run: () => Promise<unknown>][] = [
    ['login', 'session.login', () => http(`mutation{ login(email:"${ADMIN.email}", password:"${ADMIN.password}"){ __typename } }`)],
    ['login', 'session.login_failed', () => http(`mutation{ login(email:"${ADMIN.email}", password:"wrong-password"){ __typename } }`)],
    ['refreshSession', 'session.refresh_reuse', async () => {
      const s = (await http(`mutation{ login(email:"${ADMIN.email}", password:"${ADMIN.password}"){ ... on MutationLoginSuccess { session { refreshToken } } } }`)).login.session;
      await http(`mutation($r:String!){ refreshSession(refreshToken:$r){ __typename } }`, { r: s.refreshToken });
      await new Promise((r) => setTimeout(r, 1100)); // a replay after REFRESH_REUSE_GRACE_SECONDS (1 s in tests)
      await http(`mutation($r:String!){ refreshSession(refreshToken:$r){ __typename } }`, { r: s.refreshToken });
    }],
    ['logout', 'session.logout', async () => {
      const s = (await http(`mutation{ login(email:"${ADMIN.email}", password:"${ADMIN.password}"){ ... on MutationLoginSuccess { session { refreshToken } } } }`)).login.session;
      await http(`mutation($r:String!){ logout(refreshToken:$r) }`, { r: s.refreshToken });
    }],
    // Two-factor login, as the tenant's customer user (its session token stays valid throughout).
    ['startTwoFactorEnrolment', 'two_factor.enrol_start', async () => {
      tf.secret = (await http(`mutation{ startTwoFactorEnrolment{ ... on MutationStartTwoFactorEnrolmentSuccess { enrolment { secret } } } }`, {}, tenant.token)).startTwoFactorEnrolment.enrolment.secret;
    }],
    ['confirmTwoFactorEnrolment', 'two_factor.enable', async () => {
      const r = await http(`mutation($k:String!){ confirmTwoFactorEnrolment(code:$k){ ... on MutationConfirmTwoFactorEnrolmentSuccess { enabled { recoveryCodes } } } }`, { k: currentCode(tf.secret) }, tenant.token);
      tf.codes = r.confirmTwoFactorEnrolment.enabled.recoveryCodes;
    }],
    ['regenerateRecoveryCodes', 'two_factor.recovery_codes_regenerated', async () => {
      const r = await http(`mutation($k:String!){ regenerateRecoveryCodes(code:$k){ ... on MutationRegenerateRecoveryCodesSuccess { codes { recoveryCodes } } } }`, { k: tf.codes[0] }, tenant.token);
      tf.codes = r.regenerateRecoveryCodes.codes.recoveryCodes;
    }],
    ['completeLogin', 'session.login', async () => {
      const step = (await http(`mutation($e:String!){ login(email:$e, password:"customer-pass-1"){ ... on SecondFactorRequired { challenge } } }`, { e: tenant.email })).login;
      const r = await http(`mutation($c:String!,$k:String!){ completeLogin(challenge:$c, code:$k){ __typename } }`, { c: step.challenge, k: tf.codes[0] });
      expect(r.completeLogin.__typename).toBe('MutationCompleteLoginSuccess');
    }],
    ['disableTwoFactor', 'two_factor.disable', () => http(`mutation($k:String!){ disableTwoFactor(code:$k){ __typename } }`, { k: tf.codes[1] }, tenant.token)],
    ['resetTwoFactor', 'two_factor.reset', async () => {
      const secret = (await http(`mutation{ startTwoFactorEnrolment{ ... on MutationStartTwoFactorEnrolmentSuccess { enrolment { secret } } } }`, {}, tenant.token)).startTwoFactorEnrolment.enrolment.secret;
      await http(`mutation($k:String!){ confirmTwoFactorEnrolment(code:$k){ __typename } }`, { k: currentCode(secret) }, tenant.token);
      const userId = (await http(`{ viewer { user { id } } }`, {}, tenant.token)).viewer.user.id;
      const r = await http(`mutation($id:ID!){ resetTwoFactor(id:$id){ __typename } }`, { id: userId }, A);
      expect(r.resetTwoFactor.__typename).toBe('MutationResetTwoFactorSuccess');
    }],
    ['setTwoFactorRequirement', 'two_factor.requirement', () => http(`mutation($c:ID!){ setTwoFactorRequirement(required:false, customerId:$c){ __typename } }`, { c: tenant.customerId }, A)],
    // A login of a person of its own: ending "all others" must not end the logins the other steps use.
    ['endSession', 'session.end', async () => {
      await http(`mutation{ createUser(email:"sessions@audit.test", password:"Sessions-audit-1", role:ADMIN){ __typename } }`, {}, A);
      const s = (await http(`mutation{ login(email:"sessions@audit.test", password:"Sessions-audit-1"){ ... on MutationLoginSuccess { session { accessToken } } } }`)).login.session;
      const id = (await http(`{ viewer { sessions { id current } } }`, {}, s.accessToken)).viewer.sessions.find((x: { current: boolean }) => x.current).id;
      const r = await http(`mutation($id:ID!){ endSession(id:$id){ __typename } }`, { id }, s.accessToken);
      expect(r.endSession.__typename).toBe('MutationEndSessionSuccess');
    }],
    ['endOtherSessions', 'session.end', async () => {
      const s = (await http(`mutation{ login(email:"sessions@audit.test", password:"Sessions-audit-1"){ ... on MutationLoginSuccess { session { accessToken } } } }`)).login.session;
      await http(`mutation{ endOtherSessions{ __typename } }`, {}, s.accessToken);
    }],
    ['createHostingPackage', 'package.create', async () => {
      ids.pkg = success((await http(`mutation{ createHostingPackage(input:{name:"audit-pkg"}){ ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } } }`, {}, A)).createHostingPackage, 'hostingPackage').id;
    }],
    ['updateHostingPackage', 'package.update', () => http(`mutation($id:ID!){ updateHostingPackage(id:$id, input:{maxMailboxes:3}){ __typename } }`, { id: ids.pkg }, A)],
    ['createCustomer', 'customer.create', async () => {
      ids.customer = success((await http(`mutation($p:ID!){ createCustomer(name:"audit-co", packageId:$p){ ... on MutationCreateCustomerSuccess { customer { id } } } }`, { p: ids.pkg }, A)).createCustomer, 'customer').id;
    }],
    ['updateCustomer', 'customer.update', () => http(`mutation($id:ID!){ updateCustomer(id:$id, email:"billing@audit.example"){ __typename } }`, { id: ids.customer }, A)],
    ['createUser', 'user.create', async () => {
      ids.user = success((await http(`mutation($c:ID!){ createUser(email:"u@audit.example", password:"user-pass-123", role:CUSTOMER, customerId:$c){ ... on MutationCreateUserSuccess { user { id } } } }`, { c: ids.customer }, A)).createUser, 'user').id;
    }],
    ['updateUser', 'user.update', () => http(`mutation($id:ID!){ updateUser(id:$id, disabled:true){ __typename } }`, { id: ids.user }, A)],
    ['deleteUser', 'user.delete', () => http(`mutation($id:ID!){ deleteUser(id:$id){ __typename } }`, { id: ids.user }, A)],
    ['createDomain', 'domain.create', async () => {
      ids.domain = success((await http(`mutation($c:ID!){ createDomain(name:"audit.example", customerId:$c){ ... on MutationCreateDomainSuccess { domain { id } } } }`, { c: ids.customer }, A)).createDomain, 'domain').id;
    }],
    ['updateDomain', 'domain.update', () => http(`mutation($id:ID!){ updateDomain(id:$id, enabled:true){ __typename } }`, { id: ids.domain }, A)],
    ['createAliasDomain', 'alias_domain.create', async () => {
      ids.aliasDomain = success((await http(`mutation($t:ID!){ createAliasDomain(name:"alias-audit.example", targetDomainId:$t){ ... on MutationCreateAliasDomainSuccess { domain { id } } } }`, { t: ids.domain }, A)).createAliasDomain, 'domain').id;
    }],
    ['deleteAliasDomain', 'alias_domain.delete', () => http(`mutation($id:ID!){ deleteAliasDomain(id:$id){ __typename } }`, { id: ids.aliasDomain }, A)],
    ['deleteDomain', 'domain.delete', () => http(`mutation($id:ID!){ deleteDomain(id:$id){ __typename } }`, { id: ids.domain }, A)],
    ['deleteCustomer', 'customer.delete', () => http(`mutation($id:ID!){ deleteCustomer(id:$id){ __typename } }`, { id: ids.customer }, A)],
    ['deleteHostingPackage', 'package.delete', () => http(`mutation($id:ID!){ deleteHostingPackage(id:$id){ __typename } }`, { id: ids.pkg }, A)],
    ['createApiToken', 'apitoken.create', async () => {
      ids.token = (await http(`mutation{ createApiToken(name:"audit"){ ... on MutationCreateApiTokenSuccess { created { apiToken { id } } } } }`, {}, tenant.token)).createApiToken.created.apiToken.id;
    }],
    ['revokeApiToken', 'apitoken.revoke', () => http(`mutation($id:ID!){ revokeApiToken(id:$id){ __typename } }`, { id: ids.token }, tenant.token)],
    ['createMailbox', 'mailbox.create', async () => {
      ids.mailbox = (await http(`mutation{ createMailbox(username:"audited", domain:"${tenant.domain}", password:"audited-pass-1"){ ... on MutationCreateMailboxSuccess { mailbox { id } } } }`, {}, tenant.token)).createMailbox.mailbox.id;
    }],
    ['recalculateQuota', 'mailbox.quota.recalculate', () => http(`mutation($id:ID!){ recalculateQuota(mailboxId:$id){ __typename } }`, { id: ids.mailbox }, tenant.token)],
    ['updateMailbox', 'mailbox.update', () => http(`mutation($id:ID!){ updateMailbox(id:$id, quotaMb:5){ __typename } }`, { id: ids.mailbox }, tenant.token)],
    ['setMailboxStatus', 'mailbox.disable', () => http(`mutation($id:ID!){ setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: ids.mailbox }, tenant.token)],
    ['changeMailboxPassword', 'mailbox.password', () => http(`mutation($id:ID!){ changeMailboxPassword(id:$id, password:"another-pass-1"){ __typename } }`, { id: ids.mailbox }, tenant.token)],
    ['setAutoresponder', 'autoresponder.set', () => http(`mutation($id:ID!){ setAutoresponder(mailboxId:$id, input:{enabled:false, subject:"", message:""}){ __typename } }`, { id: ids.mailbox }, tenant.token)],
    ['createForward', 'forward.create', async () => {
      ids.forward = (await http(`mutation{ createForward(source:"fw@${tenant.domain}", destinations:["x@y.example"]){ ... on MutationCreateForwardSuccess { forward { id } } } }`, {}, tenant.token)).createForward.forward.id;
    }],
    ['updateForward', 'forward.update', () => http(`mutation($id:ID!){ updateForward(id:$id, destinations:["z@y.example"]){ __typename } }`, { id: ids.forward }, tenant.token)],
    ['deleteForward', 'forward.delete', () => http(`mutation($id:ID!){ deleteForward(id:$id){ __typename } }`, { id: ids.forward }, tenant.token)],
    // IMAP migrations (the source is a closed loopback port: the calls answer at once).
    ['testImapConnection', 'migration.test', () => http(`mutation{ testImapConnection(source:{host:"127.0.0.1", port:9, security:NONE, username:"u", password:"p"}){ __typename } }`, {}, tenant.token)],
    ['startMigration', 'migration.start', async () => {
      ids.migration = (await http(`mutation($m:ID!){ startMigration(mailboxId:$m, source:{host:"127.0.0.1", port:9, security:NONE, username:"u", password:"p"}){ ... on MutationStartMigrationSuccess { migration { id } } } }`, { m: ids.mailbox }, tenant.token)).startMigration.migration.id;
    }],
    ['cancelMigration', 'migration.cancel', () => http(`mutation($id:ID!){ cancelMigration(id:$id){ __typename } }`, { id: ids.migration }, tenant.token)],
    ['retryMigration', 'migration.retry', () => http(`mutation($id:ID!){ retryMigration(id:$id, password:"p2"){ __typename } }`, { id: ids.migration }, tenant.token)],
    // Keep-in-sync migrations (sync-migration): a sync-mode migration into the same mailbox, finished.
    ['finishMigration', 'migration.finish', async () => {
      await http(`mutation($id:ID!){ cancelMigration(id:$id){ __typename } }`, { id: ids.migration }, tenant.token);
      const id = (await http(`mutation($m:ID!){ startMigration(mailboxId:$m, source:{host:"127.0.0.1", port:9, security:NONE, username:"u", password:"p"}, sync:{intervalMinutes:15}){ ... on MutationStartMigrationSuccess { migration { id } } } }`, { m: ids.mailbox }, tenant.token)).startMigration.migration.id;
      const r = await http(`mutation($id:ID!){ finishMigration(id:$id){ __typename } }`, { id }, tenant.token);
      expect(r.finishMigration.__typename).toBe('MutationFinishMigrationSuccess');
    }],
    // Bulk migration (issue 16): the mailbox's migrations above are cancelled first, so it is free.
    ['startBulkMigration', 'bulk-migration.start', async () => {
      const active = await http(`query($m:ID!){ migrations(filter:{mailboxId:$m, status:[QUEUED, RUNNING, SYNCING]}){ edges { node { id } } } }`, { m: ids.mailbox }, tenant.token);
      for (const e of active.migrations.edges) await http(`mutation($id:ID!){ cancelMigration(id:$id){ __typename } }`, { id: e.node.id }, tenant.token);
      const csv = `address,host,port,security,username,password\naudited@${tenant.domain},127.0.0.1,9,NONE,u,p`;
      ids.bulk = (await http(`mutation($c:String!){ startBulkMigration(input:{csv:$c}){ ... on MutationStartBulkMigrationSuccess { result { bulkMigration { id } } } } }`, { c: csv }, tenant.token)).startBulkMigration.result.bulkMigration.id;
    }],
    ['cancelBulkMigration', 'bulk-migration.cancel', () => http(`mutation($id:ID!){ cancelBulkMigration(id:$id){ __typename } }`, { id: ids.bulk }, tenant.token)],
    ['retryBulkMigration', 'bulk-migration.retry', () =>
      http(`mutation($id:ID!,$c:String!){ retryBulkMigration(id:$id, csv:$c){ __typename } }`, { id: ids.bulk, c: `address,host,port,security,username,password\naudited@${tenant.domain},127.0.0.1,9,NONE,u,p2` }, tenant.token)],
    ['enableDkim', 'dkim.enable', () => http(`mutation($d:ID!){ enableDkim(domainId:$d, selector:"s1"){ __typename } }`, { d: tenant.domainId }, tenant.token)],
    ['rotateDkimKey', 'dkim.rotate', async () => {
      const r = await http(`mutation($d:ID!){ rotateDkimKey(domainId:$d, selector:"s2"){ __typename } }`, { d: tenant.domainId }, tenant.token);
      // Activation needs the key pair: run the worker's job for it here.
      const { db } = await import('../../core/src/db.js');
      const { dkimKey } = await import('../../worker/src/handlers/dkim-key.js');
      const { encodeGlobalID } = await import('@pothos/plugin-relay');
      const key = await db().dkimKey.findFirstOrThrow({ where: { selector: 's2' } });
      await dkimKey({ keyId: key.id });
      ids.dkim = encodeGlobalID('DkimKey', key.id);
      return r;
    }],
    ['activateDkimKey', 'dkim.activate', () => http(`mutation($id:ID!){ activateDkimKey(id:$id){ __typename } }`, { id: ids.dkim }, tenant.token)],
    ['disableDkim', 'dkim.disable', () => http(`mutation($d:ID!){ disableDkim(domainId:$d){ __typename } }`, { d: tenant.domainId }, tenant.token)],
    ['checkDnsRecords', 'dns.check', () => http(`mutation($d:ID!){ checkDnsRecords(domainId:$d){ __typename } }`, { d: tenant.domainId }, tenant.token)],
    ['updateSpamSettings', 'spam.settings', () => http(`mutation($d:ID!){ updateSpamSettings(domainId:$d, input:{threshold:7}){ __typename } }`, { d: tenant.domainId }, tenant.token)],
    ['addSpamListEntry', 'spam.list.add', async () => {
      ids.spam = (await http(`mutation($d:ID!){ addSpamListEntry(domainId:$d, kind:WHITELIST, value:"friend@ok.example"){ ... on MutationAddSpamListEntrySuccess { entry { id } } } }`, { d: tenant.domainId }, tenant.token)).addSpamListEntry.entry.id;
    }],
    ['removeSpamListEntry', 'spam.list.remove', () => http(`mutation($id:ID!){ removeSpamListEntry(id:$id){ __typename } }`, { id: ids.spam }, tenant.token)],
    ['releaseQuarantined', 'quarantine.release', async () => http(`mutation($id:ID!){ releaseQuarantined(id:$id){ __typename } }`, { id: await quarantined() }, tenant.token)],
    ['deleteQuarantined', 'quarantine.delete', async () => http(`mutation($id:ID!){ deleteQuarantined(id:$id){ __typename } }`, { id: await quarantined() }, tenant.token)],
    ['setSendingLimitOverride', 'limits.override', () => http(`mutation($id:ID!){ setSendingLimitOverride(id:$id, maxEmailsPerHour:50){ __typename } }`, { id: ids.mailbox }, A)],
    ['createAppPassword', 'app_password.create', async () => {
      ids.appPassword = (await http(`mutation($m:ID!){ createAppPassword(mailboxId:$m, name:"audit", scopes:[IMAP, SMTP]){ ... on MutationCreateAppPasswordSuccess { created { appPassword { id } } } } }`, { m: ids.mailbox }, tenant.token)).createAppPassword.created.appPassword.id;
    }],
    ['revokeAppPassword', 'app_password.revoke', () => http(`mutation($id:ID!){ revokeAppPassword(id:$id){ __typename } }`, { id: ids.appPassword }, tenant.token)],
    ['setAppPasswordsOnly', 'mailbox.app_passwords_only', () => http(`mutation($m:ID!){ setAppPasswordsOnly(mailboxId:$m, enabled:false){ __typename } }`, { m: ids.mailbox }, tenant.token)],
    // Bulk import (issue 16, bulk-import): one event for the file when it starts; the job writes one per mailbox.
    ['importMailboxes', 'mailbox.import', () => http(`mutation($c:String!){ importMailboxes(input:{ csv:$c }){ __typename } }`, { c: `address,password\nbulk@${tenant.domain},generate\n` }, tenant.token)],
    ['importForwards', 'forward.import', () => http(`mutation($c:String!){ importForwards(input:{ csv:$c }){ __typename } }`, { c: `source,destinations\nbulk-fwd@${tenant.domain},ext@elsewhere.example\n` }, tenant.token)],
    ['deleteMailbox', 'mailbox.delete', () => http(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: ids.mailbox }, tenant.token)],
    // deletion with restore (issue 16): a mailbox deleted under a grace period, restored, deleted again, purged.
    ['restoreMailbox', 'mailbox.restore', async () => {
      await http(`mutation($id:ID!){ updateHostingPackage(id:$id, input:{ deleteGraceDays:3 }){ __typename } }`, { id: tenant.packageId }, A);
      ids.restorable = (await http(`mutation($d:String!){ createMailbox(username:"restorable", domain:$d, password:"Restorable-Pass-21"){ ... on MutationCreateMailboxSuccess { mailbox { id } } } }`, { d: tenant.domain }, tenant.token)).createMailbox.mailbox.id;
      await http(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: ids.restorable }, tenant.token);
      const r = await http(`mutation($id:ID!){ restoreMailbox(id:$id){ __typename } }`, { id: ids.restorable }, tenant.token);
      expect(r.restoreMailbox.__typename).toBe('MutationRestoreMailboxSuccess');
    }],
    ['purgeMailbox', 'mailbox.purge', async () => {
      await http(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: ids.restorable }, tenant.token);
      const r = await http(`mutation($id:ID!){ purgeMailbox(id:$id){ __typename } }`, { id: ids.restorable }, A);
      expect(r.purgeMailbox.__typename).toBe('MutationPurgeMailboxSuccess');
    }],
  ];

  // A held message as the worker's quarantine ingest records it (the mail path itself is the mail-stack suite's).
  const quarantined = async () => {
    const { db } = await import('../../core/src/db.js');
    const { decodeGlobalID, encodeGlobalID } = await import('@pothos/plugin-relay');
    const mailboxId = decodeGlobalID(ids.mailbox!).id;
    const m = await db().mailbox.findUniqueOrThrow({ where: { id: mailboxId } });
    const item = await db().quarantineItem.create({
      data: { domainId: m.domainId, mailboxId, recipient: m.address, sender: 's@spam.example', subject: 'x', receivedAt: new Date(), sizeBytes: 1, storagePath: '/nonexistent', sourceKey: `k${Math.random()}` },
    });
    return encodeGlobalID('QuarantineItem', item.id);
  };

  it('the table covers every mutation of the schema', async () => {
    const fields = (await t.ok(`{ __type(name:"Mutation"){ fields { name } } }`)).__type.fields.map((f: { name: string }) => f.name);
    expect([...new Set(steps.map((s) => s[0]))].sort()).toEqual([...fields].sort());
  });

  for (const [mutation, action, run] of steps) {
    it(`${mutation} → ${action}`, async () => {
      const count = async () => (await t.ok(`query($a:String){ auditEvents(filter:{action:$a}, first:1){ totalCount edges { node { actorType actorLabel clientIp createdAt } } } }`, { a: action }, A)).auditEvents;
      const before = (await count()).totalCount;
      await run();
      const after = await count();
      expect(after.totalCount).toBe(before + 1);
      expect(after.edges[0].node.clientIp).toMatch(/127\.0\.0\.1/);
      expect(Date.now() - Date.parse(after.edges[0].node.createdAt)).toBeLessThan(60_000);
    });
  }

  it('a failed mutation writes no event (the change and its event commit together)', async () => {
    const before = (await t.ok(`{ auditEvents(filter:{action:"mailbox.create"}){ totalCount } }`, {}, A)).auditEvents.totalCount;
    const r = await t.ok(`mutation{ createMailbox(username:"bad name", domain:"${tenant.domain}", password:"long-enough-1"){ __typename } }`, {}, tenant.token);
    expect(r.createMailbox.__typename).toBe('ValidationError');
    expect((await t.ok(`{ auditEvents(filter:{action:"mailbox.create"}){ totalCount } }`, {}, A)).auditEvents.totalCount).toBe(before);
  });
});
