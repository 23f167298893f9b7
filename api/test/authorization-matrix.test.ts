// Authorization matrix: every query and mutation of the schema × every kind of caller, each cell
// asserting a concrete outcome — allowed (with the data checked), refused (UNAUTHENTICATED /
// FORBIDDEN), or not found / invisible (another tenant's rows). A coverage test compares the rows
// with the schema, so a new root field without a row fails the suite.
//
// Rows run in order and their cells in ACTORS order (vitest runs one file's tests sequentially):
// a cell may use what an earlier allowed cell created (e.g. deleteMailbox deletes what createMailbox
// made), which keeps the argon2 work — and the runtime — small.
import { describe, expect, it } from 'vitest';
import { ADMIN, createMailbox, createTenant, sql, startTestApp, type GqlResult } from '../../test/harness.js';

const ACTORS = ['anonymous', 'admin', 'customerA', 'customerB', 'mailboxOwner', 'readOnlyToken', 'fullToken'] as const;
type Actor = (typeof ACTORS)[number];
type Vars = Record<string, unknown>;

const MAILBOX_PASSWORD = 'mailbox-pass-1';
const CUSTOMER_PASSWORD = 'customer-pass-1';

/** The error members every domain mutation result union shares. */
const ERR = `... on Error { __typename message } ... on NotFoundError { entity } ... on ValidationError { fieldErrors { field code message } } ... on LimitExceededError { limit max field }`;

// ---------------------------------------------------------------------------------------------
// Documents: one per root field. Mutation results are aliased `r`.
// ---------------------------------------------------------------------------------------------
const Q = {
  viewer: `{ viewer { kind label readOnly user { id email } customer { id } mailbox { id address } } }`,
  panelSettings: `{ panelSettings { requireTwoFactor } }`,
  mailboxes: `query($f:MailboxFilter){ mailboxes(first:200, filter:$f){ totalCount edges { node { id address } } } }`,
  forwards: `query($f:ForwardFilter){ forwards(first:200, filter:$f){ totalCount edges { node { id source } } } }`,
  forwardLoops: `{ forwardLoops { path forwards { id } } }`,
  domains: `query($f:DomainFilter){ domains(first:200, filter:$f){ totalCount edges { node { id name } } } }`,
  customers: `{ customers(first:200){ totalCount edges { node { id name } } } }`,
  hostingPackages: `{ hostingPackages(first:200){ totalCount edges { node { id name } } } }`,
  users: `{ users(first:200){ edges { node { id email role } } } }`,
  apiTokens: `{ apiTokens(first:200){ edges { node { id name scope } } } }`,
  auditEvents: `query($f:AuditEventFilter){ auditEvents(first:200, filter:$f){ totalCount edges { node { id action targetType targetLabel } } } }`,
  nodes: `query($ids:[ID!]!){ nodes(ids:$ids){ __typename id } }`,
  migrations: `query($f:MigrationFilter){ migrations(first:200, filter:$f){ totalCount edges { node { id } } } }`,
  // Bulk migration (issue 16)
  bulkMigrations: `{ bulkMigrations(first:200){ totalCount edges { node { id } } } }`,
};

const M = {
  createMailbox: `mutation($u:String!,$d:String!){ r: createMailbox(username:$u, domain:$d, password:"${MAILBOX_PASSWORD}"){ __typename ... on MutationCreateMailboxSuccess { mailbox { id address customer { id } } } ${ERR} } }`,
  updateMailbox: `mutation($id:ID!,$q:Int){ r: updateMailbox(id:$id, quotaMb:$q){ __typename ... on MutationUpdateMailboxSuccess { mailbox { id quotaMb } } ${ERR} } }`,
  setMailboxStatus: `mutation($id:ID!,$s:MailboxStatus!){ r: setMailboxStatus(id:$id, status:$s){ __typename ... on MutationSetMailboxStatusSuccess { mailbox { id status } } ${ERR} } }`,
  changeMailboxPassword: `mutation($id:ID!,$p:String!){ r: changeMailboxPassword(id:$id, password:$p){ __typename ... on MutationChangeMailboxPasswordSuccess { mailbox { id address } } ${ERR} } }`,
  setAutoresponder: `mutation($id:ID!,$s:String!){ r: setAutoresponder(mailboxId:$id, input:{ enabled:true, subject:$s, message:"Away" }){ __typename ... on MutationSetAutoresponderSuccess { mailbox { id autoresponder { subject enabled } } } ${ERR} } }`,
  recalculateQuota: `mutation($id:ID!){ r: recalculateQuota(mailboxId:$id){ __typename ... on MutationRecalculateQuotaSuccess { mailbox { id } } ${ERR} } }`,
  deleteMailbox: `mutation($id:ID!){ r: deleteMailbox(id:$id){ __typename ... on MutationDeleteMailboxSuccess { deletedId } ${ERR} } }`,
  // deletion with restore (issue 16)
  restoreMailbox: `mutation($id:ID!){ r: restoreMailbox(id:$id){ __typename ... on MutationRestoreMailboxSuccess { mailbox { id deletedAt purgeAt } } ${ERR} } }`,
  purgeMailbox: `mutation($id:ID!){ r: purgeMailbox(id:$id){ __typename ... on MutationPurgeMailboxSuccess { purgedId } ${ERR} } }`,
  createForward: `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ... on MutationCreateForwardSuccess { forward { id source destinations customer { id } } } ${ERR} } }`,
  updateForward: `mutation($id:ID!,$d:[String!]!){ r: updateForward(id:$id, destinations:$d){ __typename ... on MutationUpdateForwardSuccess { forward { id destinations } } ${ERR} } }`,
  deleteForward: `mutation($id:ID!){ r: deleteForward(id:$id){ __typename ... on MutationDeleteForwardSuccess { deletedId } ${ERR} } }`,
  createDomain: `mutation($n:String!,$c:ID){ r: createDomain(name:$n, customerId:$c){ __typename ... on MutationCreateDomainSuccess { domain { id name customer { id } } } ${ERR} } }`,
  updateDomain: `mutation($id:ID!,$e:Boolean){ r: updateDomain(id:$id, enabled:$e){ __typename ... on MutationUpdateDomainSuccess { domain { id enabled } } ${ERR} } }`,
  deleteDomain: `mutation($id:ID!){ r: deleteDomain(id:$id){ __typename ... on MutationDeleteDomainSuccess { deletedId } ${ERR} } }`,
  createAliasDomain: `mutation($n:String!,$t:ID!){ r: createAliasDomain(name:$n, targetDomainId:$t){ __typename ... on MutationCreateAliasDomainSuccess { domain { id name aliasOf { id } customer { id } } } ${ERR} } }`,
  deleteAliasDomain: `mutation($id:ID!){ r: deleteAliasDomain(id:$id){ __typename ... on MutationDeleteAliasDomainSuccess { deletedId } ${ERR} } }`,
  createCustomer: `mutation($n:String!,$p:ID!){ r: createCustomer(name:$n, packageId:$p){ __typename ... on MutationCreateCustomerSuccess { customer { id name package { id } } } ${ERR} } }`,
  updateCustomer: `mutation($id:ID!,$n:String){ r: updateCustomer(id:$id, name:$n){ __typename ... on MutationUpdateCustomerSuccess { customer { id name } } ${ERR} } }`,
  deleteCustomer: `mutation($id:ID!){ r: deleteCustomer(id:$id){ __typename ... on MutationDeleteCustomerSuccess { deletedId } ${ERR} } }`,
  createHostingPackage: `mutation($n:String!){ r: createHostingPackage(input:{ name:$n, maxMailboxes:3 }){ __typename ... on MutationCreateHostingPackageSuccess { hostingPackage { id name maxMailboxes } } ${ERR} } }`,
  updateHostingPackage: `mutation($id:ID!,$m:Int){ r: updateHostingPackage(id:$id, input:{ maxMailboxes:$m }){ __typename ... on MutationUpdateHostingPackageSuccess { hostingPackage { id maxMailboxes } } ${ERR} } }`,
  deleteHostingPackage: `mutation($id:ID!){ r: deleteHostingPackage(id:$id){ __typename ... on MutationDeleteHostingPackageSuccess { deletedId } ${ERR} } }`,
  createUser: `mutation($e:String!,$c:ID){ r: createUser(email:$e, password:"second-pass-1", role:CUSTOMER, customerId:$c){ __typename ... on MutationCreateUserSuccess { user { id email role customer { id } } } ${ERR} } }`,
  updateUser: `mutation($id:ID!,$d:Boolean){ r: updateUser(id:$id, disabled:$d){ __typename ... on MutationUpdateUserSuccess { user { id disabled } } ${ERR} } }`,
  deleteUser: `mutation($id:ID!){ r: deleteUser(id:$id){ __typename ... on MutationDeleteUserSuccess { deletedId } ${ERR} } }`,
  createApiToken: `mutation($n:String!,$s:ApiTokenScope){ r: createApiToken(name:$n, scope:$s){ __typename ... on MutationCreateApiTokenSuccess { created { token apiToken { id name scope } } } ${ERR} } }`,
  revokeApiToken: `mutation($id:ID!){ r: revokeApiToken(id:$id){ __typename ... on MutationRevokeApiTokenSuccess { apiToken { id revokedAt } } ${ERR} } }`,
  login: `mutation($e:String!,$p:String!){ r: login(email:$e, password:$p){ __typename ... on MutationLoginSuccess { session { accessToken refreshToken viewer { kind label } } } ... on Error { message } } }`,
  refreshSession: `mutation($t:String!){ r: refreshSession(refreshToken:$t){ __typename ... on MutationRefreshSessionSuccess { session { accessToken refreshToken viewer { kind label } } } ... on Error { message } } }`,
  logout: `mutation($t:String!){ r: logout(refreshToken:$t) }`,
  completeLogin: `mutation($c:String!,$k:String!){ r: completeLogin(challenge:$c, code:$k){ __typename ... on Error { message } } }`,
  startTwoFactorEnrolment: `mutation($c:String){ r: startTwoFactorEnrolment(challenge:$c){ __typename ... on MutationStartTwoFactorEnrolmentSuccess { enrolment { secret otpauthUri } } ... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } } }`,
  confirmTwoFactorEnrolment: `mutation($k:String!,$c:String){ r: confirmTwoFactorEnrolment(code:$k, challenge:$c){ __typename ... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } } }`,
  disableTwoFactor: `mutation($k:String!){ r: disableTwoFactor(code:$k){ __typename ... on MutationDisableTwoFactorSuccess { disabled } ... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } } }`,
  regenerateRecoveryCodes: `mutation($k:String!){ r: regenerateRecoveryCodes(code:$k){ __typename ... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } } }`,
  resetTwoFactor: `mutation($id:ID!){ r: resetTwoFactor(id:$id){ __typename ... on MutationResetTwoFactorSuccess { resetId } ${ERR} } }`,
  createAppPassword: `mutation($m:ID!,$n:String!){ r: createAppPassword(mailboxId:$m, name:$n, scopes:[IMAP]){ __typename ... on MutationCreateAppPasswordSuccess { created { password appPassword { id name } } } ${ERR} } }`,
  revokeAppPassword: `mutation($id:ID!){ r: revokeAppPassword(id:$id){ __typename ... on MutationRevokeAppPasswordSuccess { appPassword { id revokedAt } } ${ERR} } }`,
  setAppPasswordsOnly: `mutation($m:ID!,$e:Boolean!){ r: setAppPasswordsOnly(mailboxId:$m, enabled:$e){ __typename ... on MutationSetAppPasswordsOnlySuccess { mailbox { id appPasswordsOnly } } ${ERR} } }`,
  endSession: `mutation($id:ID!){ r: endSession(id:$id){ __typename ... on MutationEndSessionSuccess { endedId } ... on Error { __typename message } ... on NotFoundError { entity } } }`,
  endOtherSessions: `mutation{ r: endOtherSessions{ __typename ... on MutationEndOtherSessionsSuccess { ended } } }`,
  setTwoFactorRequirement: `mutation($r:Boolean!,$c:ID){ r: setTwoFactorRequirement(required:$r, customerId:$c){ __typename ... on MutationSetTwoFactorRequirementSuccess { settings { requireTwoFactor } } ${ERR} } }`,
  testImapConnection: `mutation($s:ImapSourceInput!,$m:ID){ r: testImapConnection(source:$s, mailboxId:$m){ __typename ... on MutationTestImapConnectionSuccess { result { totalMessages } } ... on SourceUnreachableError { code } ... on Error { __typename message } ... on NotFoundError { entity } ... on ValidationError { fieldErrors { field code message } } } }`,
  startMigration: `mutation($m:ID!,$s:ImapSourceInput!){ r: startMigration(mailboxId:$m, source:$s){ __typename ... on MutationStartMigrationSuccess { migration { id status mailbox { id } } } ${ERR} } }`,
  cancelMigration: `mutation($id:ID!){ r: cancelMigration(id:$id){ __typename ... on MutationCancelMigrationSuccess { migration { id status } } ${ERR} } }`,
  retryMigration: `mutation($id:ID!){ r: retryMigration(id:$id, password:"source-pass-2"){ __typename ... on MutationRetryMigrationSuccess { migration { id status runs } } ${ERR} } }`,
  // Bulk migration (issue 16)
  startBulkMigration: `mutation($csv:String!,$d:Boolean){ r: startBulkMigration(input:{csv:$csv, dryRun:$d}){ __typename ... on MutationStartBulkMigrationSuccess { result { dryRun rows { address ok errors { field code } } bulkMigration { id rows } } } ${ERR} } }`,
  cancelBulkMigration: `mutation($id:ID!){ r: cancelBulkMigration(id:$id){ __typename ... on MutationCancelBulkMigrationSuccess { bulkMigration { id summary { total cancelled queued } } } ${ERR} } }`,
  retryBulkMigration: `mutation($id:ID!,$csv:String!){ r: retryBulkMigration(id:$id, csv:$csv){ __typename ... on MutationRetryBulkMigrationSuccess { bulkMigration { id summary { total cancelled queued } } } ${ERR} } }`,
  // Keep-in-sync migrations (sync-migration)
  finishMigration: `mutation($id:ID!){ r: finishMigration(id:$id){ __typename ... on MutationFinishMigrationSuccess { migration { id status sync { finishRequested } } } ${ERR} } }`,
};

/** App passwords made in the matrix, by who made them (revoked in the next row). */
const appPasswordOf: Record<string, string> = {};

/** A well-formed id of a login nobody has. */
const NO_SESSION = Buffer.from('LoginSession:00000000-0000-4000-8000-000000000000').toString('base64');

/** An IMAP source on a loopback port nothing listens on: refused at once, no mail server needed. */
/** A bulk-migration CSV into the given mailboxes from the closed loopback port of MIGRATION_SOURCE (issue 16). */
const bulkCsv = (...addresses: string[]) => ['address,host,port,security,username,password', ...addresses.map((a) => `${a},127.0.0.1,9,NONE,old@legacy.test,source-pass-1`)].join('\n');
const MIGRATION_SOURCE = { host: '127.0.0.1', port: 9, security: 'NONE', username: 'old@legacy.test', password: 'source-pass-1' };

/** node(id) for many ids at once, each under its own alias. */
function nodeDoc(keys: string[]): string {
  return `query(${keys.map((k) => `$${k}:ID!`).join(',')}){ ${keys.map((k) => `${k}: node(id:$${k}){ __typename id }`).join(' ')} }`;
}

describe('authorization matrix', async () => {
  const t = await startTestApp();

  // ---------------------------------------------------------------- fixtures (describe level)
  const A = await createTenant(t, { maxDomains: 10 }, 'tenant-a');
  const B = await createTenant(t, { maxDomains: 10 }, 'tenant-b');
  const mA1 = await createMailbox(t, A.token, 'boss', A.domain); // the mailbox owner actor's own mailbox
  const mA2 = await createMailbox(t, A.token, 'other', A.domain); // same customer, not the owner's
  const mB = await createMailbox(t, B.token, 'bmail', B.domain);
  const ownerToken = await t.login(mA1.address, MAILBOX_PASSWORD);

  const dA2 = (await t.ok(M.createDomain, { n: 'second-a.example', c: A.customerId }, t.adminToken)).r.domain as { id: string; name: string };
  const fA = (await t.ok(M.createForward, { s: `list@${A.domain}`, d: ['ext@elsewhere.test'] }, A.token)).r.forward as { id: string; source: string };
  const fB = (await t.ok(M.createForward, { s: `list@${B.domain}`, d: ['ext@elsewhere.test'] }, B.token)).r.forward as { id: string; source: string };

  const ro = (await t.ok(M.createApiToken, { n: 'integration-ro', s: 'READ_ONLY' }, A.token)).r.created as { token: string; apiToken: { id: string } };
  const full = (await t.ok(M.createApiToken, { n: 'integration-full', s: 'FULL' }, A.token)).r.created as { token: string; apiToken: { id: string } };

  const userA = (await t.ok(Q.viewer, {}, A.token)).viewer.user as { id: string; email: string };
  const userB = (await t.ok(Q.viewer, {}, B.token)).viewer.user as { id: string; email: string };
  const adminUser = (await t.ok(Q.viewer, {}, t.adminToken)).viewer.user as { id: string; email: string };

  const firstAudit = async (f: Vars) => (await t.ok(Q.auditEvents, { f }, t.adminToken)).auditEvents.edges[0].node.id as string;
  const auditDomainA = await firstAudit({ action: 'domain.create', search: A.domain });
  const auditMailboxA1 = await firstAudit({ action: 'mailbox.create', search: mA1.address });

  // IMAP migrations: one into the owner's mailbox (started by the owner), one into B's; both
  // cancelled so that the mailboxes are free for the startMigration cells.
  const migA1 = (await t.ok(M.startMigration, { m: mA1.id, s: MIGRATION_SOURCE }, ownerToken)).r.migration.id as string;
  const migB = (await t.ok(M.startMigration, { m: mB.id, s: MIGRATION_SOURCE }, B.token)).r.migration.id as string;
  await t.ok(M.cancelMigration, { id: migA1 }, ownerToken);
  await t.ok(M.cancelMigration, { id: migB }, B.token);

  // Deletion with restore (issue 16): mailboxes of A deleted under a grace period, for the
  // restoreMailbox and purgeMailbox rows; A's package is back to "delete at once" afterwards.
  await t.ok(`mutation($id:ID!){ updateHostingPackage(id:$id, input:{ deleteGraceDays:7 }){ __typename } }`, { id: A.packageId }, t.adminToken);
  const deletedA: Record<'admin' | 'customerA' | 'fullToken' | 'purge', string> = { admin: '', customerA: '', fullToken: '', purge: '' };
  for (const k of Object.keys(deletedA) as (keyof typeof deletedA)[]) {
    deletedA[k] = (await createMailbox(t, A.token, `deleted-${k.toLowerCase()}`, A.domain)).id;
    await t.ok(M.deleteMailbox, { id: deletedA[k] }, A.token);
  }
  await t.ok(`mutation($id:ID!){ updateHostingPackage(id:$id, input:{ deleteGraceDays:0 }){ __typename } }`, { id: A.packageId }, t.adminToken);
  const deletedState = async (id: string) => (await adminNode(id, 'on Mailbox { deletedAt provisioning }')) as { deletedAt: string | null; provisioning: string } | null;

  const token: Record<Actor, string | undefined> = {
    anonymous: undefined,
    admin: t.adminToken,
    customerA: A.token,
    customerB: B.token,
    mailboxOwner: ownerToken,
    readOnlyToken: ro.token,
    fullToken: full.token,
  };

  /** Objects created by allowed cells, for later rows (delete what create made). */
  const created = {
    mailbox: {} as Partial<Record<Actor, string>>,
    forward: {} as Partial<Record<Actor, string>>,
    domain: {} as Partial<Record<Actor, string>>,
    aliasDomain: {} as Partial<Record<Actor, string>>,
    apiToken: {} as Partial<Record<Actor, string>>,
    customer: '' as string,
    hostingPackage: '' as string,
    user: '' as string,
    session: {} as Partial<Record<Actor, string>>, // refresh tokens
    migration: {} as Partial<Record<Actor, string>>,
    bulkMigration: '' as string,
  };

  // ---------------------------------------------------------------- helpers
  const asAdmin = (doc: string, vars: Vars = {}) => t.ok(doc, vars, t.adminToken);
  const auditCount = async () => (await asAdmin(`{ auditEvents { totalCount } }`)).auditEvents.totalCount as number;
  const adminNode = async (id: string, fields: string) => (await asAdmin(`query($id:ID!){ node(id:$id){ __typename ... ${fields} } }`, { id })).node;
  const ids = (conn: { edges: { node: { id: string } }[] }) => conn.edges.map((e) => e.node.id).sort();
  const slug = (a: Actor) => a.toLowerCase();

  interface Cell {
    outcome: 'ALLOWED' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'INVISIBLE' | 'VALIDATION_ERROR' | 'AUTH_ERROR';
    run(doc: string, actor: Actor): Promise<void>;
  }
  interface Row {
    field: string;
    kind: 'query' | 'mutation';
    doc: string;
    cells: Record<Actor, Cell>;
  }

  function expectRefused(r: GqlResult, code: string, kind: Row['kind']) {
    expect(r.errors, JSON.stringify(r)).toBeDefined();
    expect(r.errors!.map((e) => e.extensions?.code)).toEqual([code]);
    expect(r.errors![0]!.message).toMatch(code === 'UNAUTHENTICATED' ? /log in/i : /not allowed/i);
    // The refused field yields no data (mutations are aliased r; a non-null root field nulls data).
    if (kind === 'mutation') expect(r.data?.r ?? null).toBeNull();
    else expect(Object.values(r.data ?? {}).every((v) => v == null)).toBe(true);
  }

  /** Refused by scope: the given error code, no data, nothing written (audit log unchanged). */
  const refused = (code: 'UNAUTHENTICATED' | 'FORBIDDEN', vars: () => Vars = () => ({}), after?: () => Promise<void>): Cell => ({
    outcome: code,
    async run(doc, actor) {
      const isMutation = doc.trimStart().startsWith('mutation');
      const before = isMutation ? await auditCount() : 0;
      const r = await t.gql(doc, vars(), token[actor]);
      expectRefused(r, code, isMutation ? 'mutation' : 'query');
      if (isMutation) expect(await auditCount()).toBe(before);
      await after?.();
    },
  });

  /** Allowed: no GraphQL error; for mutations the result is the Success member; then a check of the data. */
  const allowed = (vars: () => Vars, check: (data: any) => void | Promise<void>): Cell => ({
    outcome: 'ALLOWED',
    async run(doc, actor) {
      const r = await t.gql(doc, vars(), token[actor]);
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      if (doc.trimStart().startsWith('mutation') && typeof r.data?.r === 'object' && r.data.r && '__typename' in r.data.r)
        expect(r.data.r.__typename, JSON.stringify(r.data.r)).toMatch(/^Mutation\w+Success$/);
      await check(r.data);
    },
  });

  /** Another tenant's id: a typed NotFoundError result, and nothing written. */
  const notFound = (entity: string, vars: () => Vars, after?: () => Promise<void>): Cell => ({
    outcome: 'NOT_FOUND',
    async run(doc, actor) {
      const before = await auditCount();
      const r = await t.gql(doc, vars(), token[actor]);
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      expect(r.data.r).toMatchObject({ __typename: 'NotFoundError', entity, message: `${entity} not found` });
      expect(await auditCount()).toBe(before);
      await after?.();
    },
  });

  /** Another tenant's domain named in the input: a ValidationError on that field, nothing written. */
  const validationError = (field: string, code: string, vars: () => Vars, after?: () => Promise<void>): Cell => ({
    outcome: 'VALIDATION_ERROR',
    async run(doc, actor) {
      const before = await auditCount();
      const r = await t.gql(doc, vars(), token[actor]);
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      expect(r.data.r.__typename).toBe('ValidationError');
      expect(r.data.r.fieldErrors).toEqual([{ field, code, message: expect.stringMatching(/not found/i) }]);
      expect(await auditCount()).toBe(before);
      await after?.();
    },
  });

  /** A typed AuthenticationError answer (no GraphQL error), nothing written. */
  const authError = (vars: () => Vars): Cell => ({
    outcome: 'AUTH_ERROR',
    async run(doc, actor) {
      const before = await auditCount();
      const r = await t.gql(doc, vars(), token[actor]);
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      expect(r.data.r.__typename).toBe('AuthenticationError');
      expect(await auditCount()).toBe(before);
    },
  });

  /** A typed ValidationError on one field with one code, nothing written. */
  const fieldError = (field: string, code: string, vars: () => Vars): Cell => ({
    outcome: 'VALIDATION_ERROR',
    async run(doc, actor) {
      const before = await auditCount();
      const r = await t.gql(doc, vars(), token[actor]);
      expect(r.errors, JSON.stringify(r.errors)).toBeUndefined();
      expect(r.data.r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field, code }] });
      expect(await auditCount()).toBe(before);
    },
  });

  /** A list query that answers, but without the other tenant's rows (and totalCount agrees). */
  const invisible = (vars: () => Vars, check: (data: any) => void | Promise<void>): Cell => ({ ...allowed(vars, check), outcome: 'INVISIBLE' });

  // Expected visibility of one object of each type (A's unless named B) per actor, for node/nodes.
  const NODE_IDS: Record<string, [string, string]> = {
    mailboxA1: ['Mailbox', mA1.id],
    mailboxA2: ['Mailbox', mA2.id],
    forwardA: ['Forward', fA.id],
    domainA: ['Domain', A.domainId],
    domainA2: ['Domain', dA2.id],
    customerA: ['Customer', A.customerId],
    packageA: ['HostingPackage', A.packageId],
    userA: ['User', userA.id],
    apiTokenA: ['ApiToken', ro.apiToken.id],
    auditDomainA: ['AuditEvent', auditDomainA],
    auditMailboxA1: ['AuditEvent', auditMailboxA1],
    mailboxB: ['Mailbox', mB.id],
  };
  const ALL_NODES = Object.keys(NODE_IDS);
  const customerAView = ALL_NODES.filter((k) => k !== 'mailboxB');
  const VISIBLE: Record<Actor, string[]> = {
    anonymous: [],
    admin: ALL_NODES.filter((k) => k !== 'apiTokenA'), // API tokens are visible to their own user only
    customerA: customerAView,
    customerB: ['mailboxB'],
    mailboxOwner: ['mailboxA1', 'domainA', 'customerA', 'auditMailboxA1'],
    readOnlyToken: customerAView,
    fullToken: customerAView,
  };

  const hiddenIds = (actor: Actor) => ALL_NODES.filter((k) => !VISIBLE[actor].includes(k)).map((k) => NODE_IDS[k]![1]);

  // node/nodes cells assert the tenant property: visible objects come back exactly, and every hidden
  // id answers a plain null, with no error.
  const nodeCell = (actor: Actor): Cell => ({
    outcome: VISIBLE[actor].length ? 'ALLOWED' : 'INVISIBLE',
    async run() {
      const r = await t.gql(nodeDoc(ALL_NODES), Object.fromEntries(ALL_NODES.map((k) => [k, NODE_IDS[k]![1]])), token[actor]);
      for (const k of ALL_NODES) {
        const [type, id] = NODE_IDS[k]!;
        if (VISIBLE[actor].includes(k)) expect(r.data?.[k], `${actor} should see ${k}`).toEqual({ __typename: type, id });
        else expect(r.data?.[k], `${actor} must get null for hidden ${k}`).toBeNull();
      }
      expect(r.errors).toBeUndefined();
    },
  });

  const nodesCell = (actor: Actor): Cell => ({
    outcome: VISIBLE[actor].length ? 'ALLOWED' : 'INVISIBLE',
    async run(doc) {
      const visible = VISIBLE[actor];
      const ok = await t.gql(doc, { ids: visible.map((k) => NODE_IDS[k]![1]) }, token[actor]);
      expect(ok.errors).toBeUndefined();
      expect(ok.data.nodes).toEqual(visible.map((k) => ({ __typename: NODE_IDS[k]![0], id: NODE_IDS[k]![1] })));
      const hidden = await t.gql(doc, { ids: hiddenIds(actor) }, token[actor]);
      expect(hidden.errors).toBeUndefined();
      expect(hidden.data.nodes).toEqual(hiddenIds(actor).map(() => null));
    },
  });

  const listOf = (field: string, expected: string[], extra?: (data: any) => void | Promise<void>) => (data: any) => {
    expect(ids(data[field])).toEqual([...expected].sort());
    if ('totalCount' in data[field]) expect(data[field].totalCount).toBe(expected.length);
    return extra?.(data);
  };
  const listIncludes = (field: string, expected: string[], absent: string[] = []) => (data: any) => {
    const got = ids(data[field]);
    for (const id of expected) expect(got).toContain(id);
    for (const id of absent) expect(got).not.toContain(id);
    if ('totalCount' in data[field]) expect(data[field].totalCount).toBe(got.length);
  };
  const viewerCheck = (kind: string, more: (v: any) => void) => (data: any) => {
    expect(data.viewer.kind).toBe(kind);
    more(data.viewer);
  };

  const auditLabels = (data: any) => data.auditEvents.edges.map((e: any) => String(e.node.targetLabel ?? ''));
  const auditTotal = async (tok: string | undefined, f: Vars) => (await t.ok(Q.auditEvents, { f }, tok)).auditEvents.totalCount as number;
  const customerAAudit = (tok: () => string | undefined) => async (data: any) => {
    expect(data.auditEvents.totalCount).toBe(data.auditEvents.edges.length);
    expect(auditLabels(data)).toContain(A.domain);
    expect(auditLabels(data).some((l: string) => l.includes(B.domain))).toBe(false);
    expect(await auditTotal(tok(), { search: B.domain })).toBe(0);
  };

  const mailboxStatus = async (id: string) => (await adminNode(id, 'on Mailbox { status }')).status;
  const mailboxQuota = async (id: string) => (await adminNode(id, 'on Mailbox { quotaMb }')).quotaMb;
  const loginResult = async (email: string, password: string) => (await t.ok(M.login, { e: email, p: password })).r;

  // ---------------------------------------------------------------- the matrix
  // ---------------------------------------------------------------- email security (DKIM, spam policy, quarantine, limits)
  const ES = {
    enableDkim: `mutation($d:ID!){ r: enableDkim(domainId:$d){ __typename ... on MutationEnableDkimSuccess { domain { id dkim { selector status } } } ${ERR} } }`,
    rotateDkimKey: `mutation($d:ID!){ r: rotateDkimKey(domainId:$d){ __typename ... on MutationRotateDkimKeySuccess { domain { id dkimKeys { id selector status } } } ${ERR} } }`,
    activateDkimKey: `mutation($id:ID!){ r: activateDkimKey(id:$id){ __typename ... on MutationActivateDkimKeySuccess { domain { id dkim { id status } } } ${ERR} } }`,
    disableDkim: `mutation($d:ID!){ r: disableDkim(domainId:$d){ __typename ... on MutationDisableDkimSuccess { domain { id dkim { id } } } ${ERR} } }`,
    checkDnsRecords: `mutation($d:ID!){ r: checkDnsRecords(domainId:$d){ __typename ... on MutationCheckDnsRecordsSuccess { check { domain { id } records { kind status } } } ${ERR} } }`,
    updateSpamSettings: `mutation($d:ID!,$t:Float){ r: updateSpamSettings(domainId:$d, input:{ threshold:$t }){ __typename ... on MutationUpdateSpamSettingsSuccess { domain { id spamSettings { threshold } } } ${ERR} } }`,
    addSpamListEntry: `mutation($d:ID!,$v:String!){ r: addSpamListEntry(domainId:$d, kind:BLACKLIST, value:$v){ __typename ... on MutationAddSpamListEntrySuccess { entry { id value domain { id } } } ${ERR} } }`,
    removeSpamListEntry: `mutation($id:ID!){ r: removeSpamListEntry(id:$id){ __typename ... on MutationRemoveSpamListEntrySuccess { deletedId } ${ERR} } }`,
    releaseQuarantined: `mutation($id:ID!){ r: releaseQuarantined(id:$id){ __typename ... on MutationReleaseQuarantinedSuccess { item { id status } } ${ERR} } }`,
    deleteQuarantined: `mutation($id:ID!){ r: deleteQuarantined(id:$id){ __typename ... on MutationDeleteQuarantinedSuccess { item { id status } } ${ERR} } }`,
    setSendingLimitOverride: `mutation($id:ID!,$n:Int){ r: setSendingLimitOverride(id:$id, maxEmailsPerHour:$n){ __typename ... on MutationSetSendingLimitOverrideSuccess { sendingLimit { kind limit override } } ${ERR} } }`,
  };
  /** Quarantined messages (rows as the worker records them) to release and delete. */
  const { db: esDb } = await import('../../core/src/db.js');
  const { dkimKey: makeDkimKey } = await import('../../worker/src/handlers/dkim-key.js');
  const { decodeGlobalID, encodeGlobalID } = await import('@pothos/plugin-relay');
  const esUuid = (globalId: string) => decodeGlobalID(globalId).id;
  const quarantined = async (mailboxId: string, domainId: string, label: string) => {
    const row = await esDb().quarantineItem.create({
      data: {
        domainId: esUuid(domainId), mailboxId: esUuid(mailboxId), recipient: label, sender: 'spam@spam.test', subject: label,
        score: 12, receivedAt: new Date(), sizeBytes: 100, storagePath: `${process.env.MAIL_ROOT}/none/${label}.eml`, sourceKey: label,
      },
    });
    return encodeGlobalID('QuarantineItem', row.id);
  };
  const q = {
    release: { A1: await quarantined(mA1.id, A.domainId, 'rel-a1'), A2a: await quarantined(mA2.id, A.domainId, 'rel-a2a'), A2b: await quarantined(mA2.id, A.domainId, 'rel-a2b'), B: await quarantined(mB.id, B.domainId, 'rel-b') },
    delete: { A1: await quarantined(mA1.id, A.domainId, 'del-a1'), A2a: await quarantined(mA2.id, A.domainId, 'del-a2a'), A2b: await quarantined(mA2.id, A.domainId, 'del-a2b'), B: await quarantined(mB.id, B.domainId, 'del-b') },
  };
  const es = { pending: {} as Partial<Record<Actor, string>>, entry: {} as Partial<Record<Actor, string>> };
  /** The worker's part (no worker runs here): make the rotated-in key's pair so it can be activated. */
  const pendingReady = async (a: Actor) => {
    await makeDkimKey({ keyId: esUuid(es.pending[a]!) });
    return { id: es.pending[a]! };
  };
  const dkimEnabled = async (domainId: string) => (await adminNode(domainId, 'on Domain { dkim { status } }')).dkim;
  const esStatus = async (id: string) => (await asAdmin(`query($id:ID!){ node(id:$id){ ... on QuarantineItem { status } } }`, { id })).node.status;
  const pendingOf = (d: any) => d.r.domain.dkimKeys.find((k: any) => k.status === 'PENDING').id as string;

  const rows: Row[] = [
    // ============================== queries
    {
      field: 'viewer',
      kind: 'query',
      doc: Q.viewer,
      cells: {
        anonymous: invisible(() => ({}), (d) => expect(d.viewer).toBeNull()),
        admin: allowed(() => ({}), viewerCheck('ADMIN', (v) => expect(v).toMatchObject({ label: ADMIN.email, readOnly: false, user: { id: adminUser.id }, customer: null, mailbox: null }))),
        customerA: allowed(() => ({}), viewerCheck('CUSTOMER', (v) => expect(v).toMatchObject({ readOnly: false, user: { id: userA.id }, customer: { id: A.customerId }, mailbox: null }))),
        customerB: allowed(() => ({}), viewerCheck('CUSTOMER', (v) => expect(v).toMatchObject({ readOnly: false, user: { id: userB.id }, customer: { id: B.customerId } }))),
        mailboxOwner: allowed(() => ({}), viewerCheck('MAILBOX', (v) => expect(v).toMatchObject({ label: mA1.address, readOnly: false, user: null, customer: { id: A.customerId }, mailbox: { id: mA1.id } }))),
        readOnlyToken: allowed(() => ({}), viewerCheck('CUSTOMER', (v) => expect(v).toMatchObject({ readOnly: true, label: expect.stringContaining('integration-ro'), user: { id: userA.id }, customer: { id: A.customerId } }))),
        fullToken: allowed(() => ({}), viewerCheck('CUSTOMER', (v) => expect(v).toMatchObject({ readOnly: false, label: expect.stringContaining('integration-full'), user: { id: userA.id } }))),
      },
    },
    {
      field: 'node',
      kind: 'query',
      doc: '(per-cell aliases)',
      cells: Object.fromEntries(ACTORS.map((a) => [a, nodeCell(a)])) as Record<Actor, Cell>,
    },
    {
      field: 'nodes',
      kind: 'query',
      doc: Q.nodes,
      cells: Object.fromEntries(ACTORS.map((a) => [a, nodesCell(a)])) as Record<Actor, Cell>,
    },
    {
      field: 'mailboxes',
      kind: 'query',
      doc: Q.mailboxes,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), listIncludes('mailboxes', [mA1.id, mA2.id, mB.id])),
        customerA: allowed(() => ({}), listOf('mailboxes', [mA1.id, mA2.id])),
        customerB: invisible(() => ({}), listOf('mailboxes', [mB.id], async () => {
          // Filtering on A's customer or searching A's domain finds nothing, and counts nothing.
          const byCustomer = await t.ok(Q.mailboxes, { f: { customerId: A.customerId } }, B.token);
          expect(byCustomer.mailboxes).toEqual({ totalCount: 0, edges: [] });
          const bySearch = await t.ok(Q.mailboxes, { f: { search: A.domain } }, B.token);
          expect(bySearch.mailboxes).toEqual({ totalCount: 0, edges: [] });
        })),
        mailboxOwner: allowed(() => ({}), listOf('mailboxes', [mA1.id], async () => {
          const sameDomain = await t.ok(Q.mailboxes, { f: { domainId: A.domainId } }, ownerToken);
          expect(ids(sameDomain.mailboxes)).toEqual([mA1.id]);
        })),
        readOnlyToken: allowed(() => ({}), listOf('mailboxes', [mA1.id, mA2.id])),
        fullToken: allowed(() => ({}), listOf('mailboxes', [mA1.id, mA2.id])),
      },
    },
    {
      // Loops themselves, and what each tenant may read of one, are api/test/forward-loops.test.ts.
      field: 'forwardLoops',
      kind: 'query',
      doc: Q.forwardLoops,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), (d) => expect(d.forwardLoops).toEqual([])),
        customerA: allowed(() => ({}), (d) => expect(d.forwardLoops).toEqual([])),
        customerB: allowed(() => ({}), (d) => expect(d.forwardLoops).toEqual([])),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: allowed(() => ({}), (d) => expect(d.forwardLoops).toEqual([])),
        fullToken: allowed(() => ({}), (d) => expect(d.forwardLoops).toEqual([])),
      },
    },
    {
      field: 'forwards',
      kind: 'query',
      doc: Q.forwards,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), listIncludes('forwards', [fA.id, fB.id])),
        customerA: allowed(() => ({}), listOf('forwards', [fA.id])),
        customerB: invisible(() => ({}), listOf('forwards', [fB.id], async () => {
          const r = await t.ok(Q.forwards, { f: { domainId: A.domainId } }, B.token);
          expect(r.forwards).toEqual({ totalCount: 0, edges: [] });
        })),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: allowed(() => ({}), listOf('forwards', [fA.id])),
        fullToken: allowed(() => ({}), listOf('forwards', [fA.id])),
      },
    },
    {
      field: 'domains',
      kind: 'query',
      doc: Q.domains,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), listIncludes('domains', [A.domainId, dA2.id, B.domainId])),
        customerA: allowed(() => ({}), listOf('domains', [A.domainId, dA2.id])),
        customerB: invisible(() => ({}), listOf('domains', [B.domainId], async () => {
          const r = await t.ok(Q.domains, { f: { customerId: A.customerId } }, B.token);
          expect(r.domains).toEqual({ totalCount: 0, edges: [] });
        })),
        mailboxOwner: allowed(() => ({}), listOf('domains', [A.domainId])), // only the domain of its own mailbox
        readOnlyToken: allowed(() => ({}), listOf('domains', [A.domainId, dA2.id])),
        fullToken: allowed(() => ({}), listOf('domains', [A.domainId, dA2.id])),
      },
    },
    {
      field: 'customers',
      kind: 'query',
      doc: Q.customers,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), listIncludes('customers', [A.customerId, B.customerId])),
        customerA: allowed(() => ({}), listOf('customers', [A.customerId])),
        customerB: invisible(() => ({}), listOf('customers', [B.customerId])),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: allowed(() => ({}), listOf('customers', [A.customerId])),
        fullToken: allowed(() => ({}), listOf('customers', [A.customerId])),
      },
    },
    {
      field: 'hostingPackages',
      kind: 'query',
      doc: Q.hostingPackages,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), listIncludes('hostingPackages', [A.packageId, B.packageId])),
        customerA: allowed(() => ({}), listOf('hostingPackages', [A.packageId])),
        customerB: invisible(() => ({}), listOf('hostingPackages', [B.packageId])),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: allowed(() => ({}), listOf('hostingPackages', [A.packageId])),
        fullToken: allowed(() => ({}), listOf('hostingPackages', [A.packageId])),
      },
    },
    {
      field: 'users',
      kind: 'query',
      doc: Q.users,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), listIncludes('users', [adminUser.id, userA.id, userB.id])),
        customerA: refused('FORBIDDEN'),
        customerB: refused('FORBIDDEN'),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: refused('FORBIDDEN'),
        fullToken: refused('FORBIDDEN'),
      },
    },
    {
      field: 'apiTokens',
      kind: 'query',
      doc: Q.apiTokens,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: invisible(() => ({}), listIncludes('apiTokens', [], [ro.apiToken.id, full.apiToken.id])), // own tokens only
        customerA: allowed(() => ({}), listOf('apiTokens', [ro.apiToken.id, full.apiToken.id])),
        customerB: invisible(() => ({}), listOf('apiTokens', [])),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: allowed(() => ({}), listOf('apiTokens', [ro.apiToken.id, full.apiToken.id])),
        fullToken: allowed(() => ({}), listOf('apiTokens', [ro.apiToken.id, full.apiToken.id])),
      },
    },
    {
      field: 'auditEvents',
      kind: 'query',
      doc: Q.auditEvents,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), (d) => {
          expect(d.auditEvents.totalCount).toBe(d.auditEvents.edges.length);
          expect(auditLabels(d)).toEqual(expect.arrayContaining([A.domain, B.domain, mA1.address, mB.address]));
        }),
        customerA: allowed(() => ({}), customerAAudit(() => A.token)),
        customerB: invisible(() => ({}), async (d) => {
          expect(d.auditEvents.totalCount).toBe(d.auditEvents.edges.length);
          expect(auditLabels(d)).toContain(B.domain);
          expect(auditLabels(d).some((l: string) => l.includes(A.domain))).toBe(false);
          // The same filter finds A's events for the admin, and none (count 0) for B.
          expect(await auditTotal(t.adminToken, { search: A.domain })).toBeGreaterThan(0);
          expect(await auditTotal(B.token, { search: A.domain })).toBe(0);
          expect(await auditTotal(B.token, { action: 'mailbox.create', search: mA1.address })).toBe(0);
        }),
        mailboxOwner: allowed(() => ({}), (d) => {
          // Only events about its own mailbox.
          expect(d.auditEvents.edges.length).toBeGreaterThan(0);
          expect(d.auditEvents.totalCount).toBe(d.auditEvents.edges.length);
          for (const e of d.auditEvents.edges) expect(e.node).toMatchObject({ targetType: 'Mailbox', targetLabel: mA1.address });
          expect(d.auditEvents.edges.map((e: any) => e.node.action)).toContain('mailbox.create');
        }),
        readOnlyToken: allowed(() => ({}), customerAAudit(() => ro.token)),
        fullToken: allowed(() => ({}), customerAAudit(() => full.token)),
      },
    },

    {
      field: 'migrations',
      kind: 'query',
      doc: Q.migrations,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), listOf('migrations', [migA1, migB])),
        customerA: invisible(() => ({}), listOf('migrations', [migA1])),
        customerB: invisible(() => ({}), listOf('migrations', [migB])),
        mailboxOwner: invisible(() => ({}), listOf('migrations', [migA1])),
        readOnlyToken: invisible(() => ({ f: { mailboxId: mB.id } }), listOf('migrations', [])),
        fullToken: invisible(() => ({}), listOf('migrations', [migA1])),
      },
    },
    // ============================== mailboxes
    {
      field: 'createMailbox',
      kind: 'mutation',
      doc: M.createMailbox,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ u: 'new-anonymous', d: A.domain })),
        admin: allowed(() => ({ u: 'new-admin', d: A.domain }), (d) => {
          expect(d.r.mailbox).toMatchObject({ address: `new-admin@${A.domain}`, customer: { id: A.customerId } });
          created.mailbox.admin = d.r.mailbox.id;
        }),
        customerA: allowed(() => ({ u: 'new-customera', d: A.domain }), (d) => {
          expect(d.r.mailbox).toMatchObject({ address: `new-customera@${A.domain}`, customer: { id: A.customerId } });
          created.mailbox.customerA = d.r.mailbox.id;
        }),
        customerB: validationError('domain', 'NOT_FOUND', () => ({ u: 'intruder', d: A.domain }), async () => {
          expect((await asAdmin(Q.mailboxes, { f: { search: 'intruder' } })).mailboxes.totalCount).toBe(0);
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ u: 'new-owner', d: A.domain })),
        readOnlyToken: refused('FORBIDDEN', () => ({ u: 'new-readonly', d: A.domain })),
        fullToken: allowed(() => ({ u: 'new-fulltoken', d: A.domain }), (d) => {
          expect(d.r.mailbox).toMatchObject({ address: `new-fulltoken@${A.domain}`, customer: { id: A.customerId } });
          created.mailbox.fullToken = d.r.mailbox.id;
        }),
      },
    },
    {
      field: 'updateMailbox',
      kind: 'mutation',
      doc: M.updateMailbox,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA2.id, q: 11 })),
        admin: allowed(() => ({ id: mA2.id, q: 12 }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, quotaMb: 12 })),
        customerA: allowed(() => ({ id: mA2.id, q: 13 }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, quotaMb: 13 })),
        customerB: notFound('Mailbox', () => ({ id: mA2.id, q: 14 }), async () => expect(await mailboxQuota(mA2.id)).toBe(13)),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: mA1.id, q: 15 }), async () => expect(await mailboxQuota(mA1.id)).toBe(1024)),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: mA2.id, q: 16 }), async () => expect(await mailboxQuota(mA2.id)).toBe(13)),
        fullToken: allowed(() => ({ id: mA2.id, q: 17 }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, quotaMb: 17 })),
      },
    },
    {
      field: 'setMailboxStatus',
      kind: 'mutation',
      doc: M.setMailboxStatus,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA2.id, s: 'DISABLED' })),
        admin: allowed(() => ({ id: mA2.id, s: 'DISABLED' }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, status: 'DISABLED' })),
        customerA: allowed(() => ({ id: mA2.id, s: 'ACTIVE' }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, status: 'ACTIVE' })),
        customerB: notFound('Mailbox', () => ({ id: mA2.id, s: 'DISABLED' }), async () => expect(await mailboxStatus(mA2.id)).toBe('ACTIVE')),
        // A mailbox owner cannot disable even its own mailbox.
        mailboxOwner: refused('FORBIDDEN', () => ({ id: mA1.id, s: 'DISABLED' }), async () => expect(await mailboxStatus(mA1.id)).toBe('ACTIVE')),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: mA2.id, s: 'DISABLED' }), async () => expect(await mailboxStatus(mA2.id)).toBe('ACTIVE')),
        fullToken: allowed(() => ({ id: mA2.id, s: 'ACTIVE' }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, status: 'ACTIVE' })),
      },
    },
    {
      field: 'changeMailboxPassword',
      kind: 'mutation',
      doc: M.changeMailboxPassword,
      // Allowed cells set the same password again, so the fixtures keep working.
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA2.id, p: 'anon-pass-123' })),
        admin: allowed(() => ({ id: mA2.id, p: MAILBOX_PASSWORD }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, address: mA2.address })),
        customerA: allowed(() => ({ id: mA2.id, p: MAILBOX_PASSWORD }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, address: mA2.address })),
        customerB: notFound('Mailbox', () => ({ id: mA2.id, p: 'hacked-pass-1' }), async () => {
          expect(await loginResult(mA2.address, 'hacked-pass-1')).toMatchObject({ __typename: 'AuthenticationError', message: 'Wrong e-mail address or password' });
        }),
        mailboxOwner: allowed(() => ({ id: mA1.id, p: MAILBOX_PASSWORD }), (d) => expect(d.r.mailbox).toEqual({ id: mA1.id, address: mA1.address })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: mA2.id, p: 'readonly-pass-1' })),
        fullToken: allowed(() => ({ id: mA2.id, p: MAILBOX_PASSWORD }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, address: mA2.address })),
      },
    },
    {
      field: 'setAutoresponder',
      kind: 'mutation',
      doc: M.setAutoresponder,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA2.id, s: 'by anonymous' })),
        admin: allowed(() => ({ id: mA2.id, s: 'by admin' }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id, autoresponder: { subject: 'by admin', enabled: true } })),
        customerA: allowed(() => ({ id: mA2.id, s: 'by customerA' }), (d) => expect(d.r.mailbox.autoresponder.subject).toBe('by customerA')),
        customerB: notFound('Mailbox', () => ({ id: mA2.id, s: 'by customerB' }), async () => {
          expect((await adminNode(mA2.id, 'on Mailbox { autoresponder { subject } }')).autoresponder.subject).toBe('by customerA');
        }),
        mailboxOwner: allowed(() => ({ id: mA1.id, s: 'by owner' }), (d) => expect(d.r.mailbox).toEqual({ id: mA1.id, autoresponder: { subject: 'by owner', enabled: true } })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: mA2.id, s: 'by readonly' })),
        fullToken: allowed(() => ({ id: mA2.id, s: 'by fullToken' }), (d) => expect(d.r.mailbox.autoresponder.subject).toBe('by fullToken')),
      },
    },
    {
      field: 'recalculateQuota',
      kind: 'mutation',
      doc: M.recalculateQuota,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA2.id })),
        admin: allowed(() => ({ id: mA2.id }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id })),
        customerA: allowed(() => ({ id: mA2.id }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id })),
        customerB: notFound('Mailbox', () => ({ id: mA2.id })),
        // A mailbox owner may ask for its own mailbox's usage (and only its own: see the regressions below).
        mailboxOwner: allowed(() => ({ id: mA1.id }), (d) => expect(d.r.mailbox).toEqual({ id: mA1.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: mA2.id })),
        fullToken: allowed(() => ({ id: mA2.id }), (d) => expect(d.r.mailbox).toEqual({ id: mA2.id })),
      },
    },
    // ============================== IMAP migrations (into mailboxes the createMailbox cells made; the
    // source is a closed loopback port, so no mail server is needed)
    {
      field: 'testImapConnection',
      kind: 'mutation',
      doc: M.testImapConnection,
      cells: Object.fromEntries(
        ACTORS.map((a): [Actor, Cell] => [
          a,
          a === 'anonymous'
            ? refused('UNAUTHENTICATED', () => ({ s: MIGRATION_SOURCE }))
            : a === 'readOnlyToken'
              ? refused('FORBIDDEN', () => ({ s: MIGRATION_SOURCE }))
              : a === 'customerB'
                ? notFound('Mailbox', () => ({ s: MIGRATION_SOURCE, m: mA1.id }))
                : {
                    // Allowed: the login attempt was made and answered with the typed result.
                    outcome: 'ALLOWED',
                    async run(doc, actor) {
                      const r = await t.gql(doc, { s: MIGRATION_SOURCE, m: actor === 'admin' ? mB.id : mA1.id }, token[actor]);
                      expect(r.errors).toBeUndefined();
                      expect(r.data.r).toMatchObject({ __typename: 'SourceUnreachableError', code: 'HOST_UNREACHABLE' });
                    },
                  },
        ]),
      ) as Record<Actor, Cell>,
    },
    {
      field: 'startMigration',
      kind: 'mutation',
      doc: M.startMigration,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ m: mA2.id, s: MIGRATION_SOURCE })),
        admin: allowed(() => ({ m: mB.id, s: MIGRATION_SOURCE }), (d) => {
          expect(d.r.migration).toMatchObject({ status: 'QUEUED', mailbox: { id: mB.id } });
          created.migration.admin = d.r.migration.id;
        }),
        customerA: allowed(() => ({ m: created.mailbox.customerA, s: MIGRATION_SOURCE }), (d) => {
          expect(d.r.migration.mailbox.id).toBe(created.mailbox.customerA);
          created.migration.customerA = d.r.migration.id;
        }),
        customerB: notFound('Mailbox', () => ({ m: mA2.id, s: MIGRATION_SOURCE })),
        mailboxOwner: allowed(() => ({ m: mA1.id, s: MIGRATION_SOURCE }), (d) => {
          expect(d.r.migration.mailbox.id).toBe(mA1.id);
          created.migration.mailboxOwner = d.r.migration.id;
        }),
        readOnlyToken: refused('FORBIDDEN', () => ({ m: mA2.id, s: MIGRATION_SOURCE })),
        fullToken: allowed(() => ({ m: created.mailbox.fullToken, s: MIGRATION_SOURCE }), (d) => {
          expect(d.r.migration.mailbox.id).toBe(created.mailbox.fullToken);
          created.migration.fullToken = d.r.migration.id;
        }),
      },
    },
    {
      field: 'cancelMigration',
      kind: 'mutation',
      doc: M.cancelMigration,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.migration.customerA })),
        admin: allowed(() => ({ id: created.migration.admin }), (d) => expect(d.r.migration.status).toBe('CANCELLED')),
        customerA: allowed(() => ({ id: created.migration.customerA }), (d) => expect(d.r.migration.status).toBe('CANCELLED')),
        customerB: notFound('Migration', () => ({ id: created.migration.mailboxOwner }), async () => {
          expect((await adminNode(created.migration.mailboxOwner!, 'on Migration { status }')).status).toBe('QUEUED');
        }),
        mailboxOwner: allowed(() => ({ id: created.migration.mailboxOwner }), (d) => expect(d.r.migration.status).toBe('CANCELLED')),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.migration.fullToken })),
        fullToken: allowed(() => ({ id: created.migration.fullToken }), (d) => expect(d.r.migration.status).toBe('CANCELLED')),
      },
    },
    {
      field: 'retryMigration',
      kind: 'mutation',
      doc: M.retryMigration,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.migration.customerA })),
        admin: allowed(() => ({ id: created.migration.admin }), (d) => expect(d.r.migration).toMatchObject({ status: 'QUEUED', runs: 2 })),
        customerA: allowed(() => ({ id: created.migration.customerA }), (d) => expect(d.r.migration).toMatchObject({ status: 'QUEUED', runs: 2 })),
        customerB: notFound('Migration', () => ({ id: created.migration.mailboxOwner })),
        mailboxOwner: allowed(() => ({ id: created.migration.mailboxOwner }), (d) => expect(d.r.migration).toMatchObject({ status: 'QUEUED', runs: 2 })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.migration.fullToken })),
        fullToken: allowed(() => ({ id: created.migration.fullToken }), (d) => expect(d.r.migration).toMatchObject({ status: 'QUEUED', runs: 2 })),
      },
    },
    // ============================== Bulk migration (issue 16): A's mailbox mA2 is free here (no cell
    // started a migration into it); mB and mA1 have queued ones (MIGRATION_RUNNING in a dry run).
    {
      field: 'startBulkMigration',
      kind: 'mutation',
      doc: M.startBulkMigration,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ csv: bulkCsv(mA2.address), d: true })),
        admin: allowed(() => ({ csv: bulkCsv(mA2.address, mB.address), d: true }), (d) => {
          // Every tenant's mailbox is found: mB's only problem is its queued migration.
          expect(d.r.result.rows).toEqual([
            { address: mA2.address, ok: true, errors: [] },
            { address: mB.address, ok: false, errors: [{ field: 'address', code: 'MIGRATION_RUNNING' }] },
          ]);
        }),
        customerA: allowed(() => ({ csv: bulkCsv(mA2.address) }), (d) => {
          expect(d.r.result.bulkMigration.rows).toBe(1);
          created.bulkMigration = d.r.result.bulkMigration.id;
        }),
        customerB: invisible(() => ({ csv: bulkCsv(mA2.address), d: true }), (d) =>
          expect(d.r.result.rows).toEqual([{ address: mA2.address, ok: false, errors: [{ field: 'address', code: 'NOT_FOUND' }] }]),
        ),
        mailboxOwner: refused('FORBIDDEN', () => ({ csv: bulkCsv(mA1.address), d: true })),
        readOnlyToken: refused('FORBIDDEN', () => ({ csv: bulkCsv(mA2.address) })),
        fullToken: allowed(() => ({ csv: bulkCsv(mA2.address), d: true }), (d) =>
          expect(d.r.result.rows).toEqual([{ address: mA2.address, ok: false, errors: [{ field: 'address', code: 'MIGRATION_RUNNING' }] }]),
        ),
      },
    },
    {
      field: 'bulkMigrations',
      kind: 'query',
      doc: Q.bulkMigrations,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), (d) => expect(ids(d.bulkMigrations)).toContain(created.bulkMigration)),
        customerA: invisible(() => ({}), (d) => expect(ids(d.bulkMigrations)).toEqual([created.bulkMigration])),
        customerB: invisible(() => ({}), (d) => expect(d.bulkMigrations).toEqual({ totalCount: 0, edges: [] })),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: invisible(() => ({}), (d) => expect(ids(d.bulkMigrations)).toEqual([created.bulkMigration])),
        fullToken: invisible(() => ({}), (d) => expect(ids(d.bulkMigrations)).toEqual([created.bulkMigration])),
      },
    },
    {
      field: 'cancelBulkMigration',
      kind: 'mutation',
      doc: M.cancelBulkMigration,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.bulkMigration })),
        admin: allowed(() => ({ id: created.bulkMigration }), async (d) => {
          expect(d.r.bulkMigration.summary).toEqual({ total: 1, cancelled: 1, queued: 0 });
          await asAdmin(M.retryBulkMigration, { id: created.bulkMigration, csv: bulkCsv(mA2.address) });
        }),
        customerA: allowed(() => ({ id: created.bulkMigration }), async (d) => {
          expect(d.r.bulkMigration.summary).toEqual({ total: 1, cancelled: 1, queued: 0 });
          await asAdmin(M.retryBulkMigration, { id: created.bulkMigration, csv: bulkCsv(mA2.address) });
        }),
        customerB: notFound('BulkMigration', () => ({ id: created.bulkMigration })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: created.bulkMigration })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.bulkMigration })),
        fullToken: allowed(() => ({ id: created.bulkMigration }), (d) => expect(d.r.bulkMigration.summary).toEqual({ total: 1, cancelled: 1, queued: 0 })),
      },
    },
    {
      field: 'retryBulkMigration',
      kind: 'mutation',
      doc: M.retryBulkMigration,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.bulkMigration, csv: bulkCsv(mA2.address) })),
        admin: allowed(() => ({ id: created.bulkMigration, csv: bulkCsv(mA2.address) }), async (d) => {
          expect(d.r.bulkMigration.summary).toEqual({ total: 1, cancelled: 0, queued: 1 });
          await asAdmin(M.cancelBulkMigration, { id: created.bulkMigration });
        }),
        customerA: allowed(() => ({ id: created.bulkMigration, csv: bulkCsv(mA2.address) }), async (d) => {
          expect(d.r.bulkMigration.summary).toEqual({ total: 1, cancelled: 0, queued: 1 });
          await asAdmin(M.cancelBulkMigration, { id: created.bulkMigration });
        }),
        customerB: notFound('BulkMigration', () => ({ id: created.bulkMigration, csv: bulkCsv(mA2.address) })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: created.bulkMigration, csv: bulkCsv(mA2.address) })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.bulkMigration, csv: bulkCsv(mA2.address) })),
        fullToken: allowed(() => ({ id: created.bulkMigration, csv: bulkCsv(mA2.address) }), async (d) => {
          expect(d.r.bulkMigration.summary).toEqual({ total: 1, cancelled: 0, queued: 1 });
          await asAdmin(M.cancelBulkMigration, { id: created.bulkMigration });
        }),
      },
    },
    // ---- keep-in-sync migrations (sync-migration): finishMigration on the migrations retryMigration
    // queued again, turned into sync-mode ones first (the first cell does it; cells run in order).
    {
      field: 'finishMigration',
      kind: 'mutation',
      doc: M.finishMigration,
      cells: {
        anonymous: {
          outcome: 'UNAUTHENTICATED',
          async run(doc, actor) {
            await sql(`UPDATE migrations SET sync_interval_minutes = 15 WHERE status = 'QUEUED' AND sync_interval_minutes IS NULL`);
            await refused('UNAUTHENTICATED', () => ({ id: created.migration.customerA })).run(doc, actor);
          },
        },
        admin: allowed(() => ({ id: created.migration.admin }), (d) => expect(d.r.migration).toMatchObject({ status: 'QUEUED', sync: { finishRequested: true } })),
        customerA: allowed(() => ({ id: created.migration.customerA }), (d) => expect(d.r.migration.sync.finishRequested).toBe(true)),
        customerB: notFound('Migration', () => ({ id: created.migration.mailboxOwner }), async () => {
          expect((await adminNode(created.migration.mailboxOwner!, 'on Migration { sync { finishRequested } }')).sync.finishRequested).toBe(false);
        }),
        mailboxOwner: allowed(() => ({ id: created.migration.mailboxOwner }), (d) => expect(d.r.migration.sync.finishRequested).toBe(true)),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.migration.fullToken })),
        fullToken: allowed(() => ({ id: created.migration.fullToken }), (d) => expect(d.r.migration.sync.finishRequested).toBe(true)),
      },
    },
    {
      field: 'deleteMailbox',
      kind: 'mutation',
      doc: M.deleteMailbox,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA2.id })),
        admin: allowed(() => ({ id: created.mailbox.admin }), (d) => expect(d.r.deletedId).toBe(created.mailbox.admin)),
        customerA: allowed(() => ({ id: created.mailbox.customerA }), async (d) => {
          expect(d.r.deletedId).toBe(created.mailbox.customerA);
          expect(ids((await t.ok(Q.mailboxes, {}, A.token)).mailboxes)).not.toContain(created.mailbox.customerA);
        }),
        customerB: notFound('Mailbox', () => ({ id: mA2.id }), async () => {
          expect(ids((await t.ok(Q.mailboxes, {}, A.token)).mailboxes)).toContain(mA2.id);
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: mA1.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.mailbox.fullToken })),
        fullToken: allowed(() => ({ id: created.mailbox.fullToken }), (d) => expect(d.r.deletedId).toBe(created.mailbox.fullToken)),
      },
    },
    // ---- deletion with restore (issue 16)
    {
      field: 'restoreMailbox',
      kind: 'mutation',
      doc: M.restoreMailbox,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: deletedA.customerA })),
        admin: allowed(() => ({ id: deletedA.admin }), (d) => expect(d.r.mailbox).toEqual({ id: deletedA.admin, deletedAt: null, purgeAt: null })),
        customerA: allowed(() => ({ id: deletedA.customerA }), async (d) => {
          expect(d.r.mailbox).toEqual({ id: deletedA.customerA, deletedAt: null, purgeAt: null });
          expect(ids((await t.ok(Q.mailboxes, {}, A.token)).mailboxes)).toContain(deletedA.customerA);
        }),
        customerB: notFound('Mailbox', () => ({ id: deletedA.fullToken }), async () => {
          expect((await deletedState(deletedA.fullToken))!.deletedAt).not.toBeNull();
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: deletedA.fullToken })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: deletedA.fullToken }), async () => {
          expect((await deletedState(deletedA.fullToken))!.deletedAt).not.toBeNull();
        }),
        fullToken: allowed(() => ({ id: deletedA.fullToken }), async (d) => {
          expect(d.r.mailbox).toEqual({ id: deletedA.fullToken, deletedAt: null, purgeAt: null });
          // Later rows count A's mailboxes: the restored ones go again (A's package deletes at once now).
          for (const id of [deletedA.admin, deletedA.customerA, deletedA.fullToken]) await t.ok(M.deleteMailbox, { id }, t.adminToken);
        }),
      },
    },
    {
      field: 'purgeMailbox',
      kind: 'mutation',
      doc: M.purgeMailbox,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: deletedA.purge })),
        admin: allowed(() => ({ id: deletedA.purge }), async (d) => {
          expect(d.r.purgedId).toBe(deletedA.purge);
          expect((await deletedState(deletedA.purge))?.provisioning ?? 'GONE').toMatch(/^(DELETING|GONE)$/);
        }),
        customerA: refused('FORBIDDEN', () => ({ id: deletedA.purge })),
        customerB: refused('FORBIDDEN', () => ({ id: deletedA.purge })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: deletedA.purge })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: deletedA.purge })),
        fullToken: refused('FORBIDDEN', () => ({ id: deletedA.purge })),
      },
    },

    // ============================== forwards
    {
      field: 'createForward',
      kind: 'mutation',
      doc: M.createForward,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ s: `fwd-anonymous@${A.domain}`, d: ['x@elsewhere.test'] })),
        admin: allowed(() => ({ s: `fwd-admin@${A.domain}`, d: ['x@elsewhere.test'] }), (d) => {
          expect(d.r.forward).toMatchObject({ source: `fwd-admin@${A.domain}`, destinations: ['x@elsewhere.test'], customer: { id: A.customerId } });
          created.forward.admin = d.r.forward.id;
        }),
        customerA: allowed(() => ({ s: `fwd-customera@${A.domain}`, d: ['x@elsewhere.test'] }), (d) => {
          expect(d.r.forward).toMatchObject({ source: `fwd-customera@${A.domain}`, customer: { id: A.customerId } });
          created.forward.customerA = d.r.forward.id;
        }),
        customerB: validationError('source', 'NOT_FOUND', () => ({ s: `fwd-intruder@${A.domain}`, d: ['x@elsewhere.test'] }), async () => {
          expect((await asAdmin(Q.forwards, { f: { search: 'fwd-intruder' } })).forwards.totalCount).toBe(0);
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ s: `fwd-owner@${A.domain}`, d: ['x@elsewhere.test'] })),
        readOnlyToken: refused('FORBIDDEN', () => ({ s: `fwd-readonly@${A.domain}`, d: ['x@elsewhere.test'] })),
        fullToken: allowed(() => ({ s: `fwd-fulltoken@${A.domain}`, d: ['x@elsewhere.test'] }), (d) => {
          expect(d.r.forward).toMatchObject({ source: `fwd-fulltoken@${A.domain}`, customer: { id: A.customerId } });
          created.forward.fullToken = d.r.forward.id;
        }),
      },
    },
    {
      field: 'updateForward',
      kind: 'mutation',
      doc: M.updateForward,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: fA.id, d: ['anonymous@elsewhere.test'] })),
        admin: allowed(() => ({ id: fA.id, d: ['admin@elsewhere.test'] }), (d) => expect(d.r.forward).toEqual({ id: fA.id, destinations: ['admin@elsewhere.test'] })),
        customerA: allowed(() => ({ id: fA.id, d: ['ext@elsewhere.test'] }), (d) => expect(d.r.forward).toEqual({ id: fA.id, destinations: ['ext@elsewhere.test'] })),
        customerB: notFound('Forward', () => ({ id: fA.id, d: ['intruder@elsewhere.test'] }), async () => {
          expect((await adminNode(fA.id, 'on Forward { destinations }')).destinations).toEqual(['ext@elsewhere.test']);
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: fA.id, d: ['owner@elsewhere.test'] })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: fA.id, d: ['readonly@elsewhere.test'] })),
        fullToken: allowed(() => ({ id: fA.id, d: ['ext@elsewhere.test'] }), (d) => expect(d.r.forward.destinations).toEqual(['ext@elsewhere.test'])),
      },
    },
    {
      field: 'deleteForward',
      kind: 'mutation',
      doc: M.deleteForward,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: fA.id })),
        admin: allowed(() => ({ id: created.forward.admin }), (d) => expect(d.r.deletedId).toBe(created.forward.admin)),
        customerA: allowed(() => ({ id: created.forward.customerA }), async (d) => {
          expect(d.r.deletedId).toBe(created.forward.customerA);
          expect(ids((await t.ok(Q.forwards, {}, A.token)).forwards)).not.toContain(created.forward.customerA);
        }),
        customerB: notFound('Forward', () => ({ id: fA.id }), async () => {
          expect(ids((await t.ok(Q.forwards, {}, A.token)).forwards)).toContain(fA.id);
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: fA.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: fA.id })),
        fullToken: allowed(() => ({ id: created.forward.fullToken }), (d) => expect(d.r.deletedId).toBe(created.forward.fullToken)),
      },
    },

    // ============================== domains
    {
      field: 'createDomain',
      kind: 'mutation',
      doc: M.createDomain,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ n: 'anonymous-new.example' })),
        admin: allowed(() => ({ n: 'admin-new.example', c: A.customerId }), (d) => {
          expect(d.r.domain).toMatchObject({ name: 'admin-new.example', customer: { id: A.customerId } });
          created.domain.admin = d.r.domain.id;
        }),
        customerA: allowed(() => ({ n: 'customera-new.example' }), (d) => {
          expect(d.r.domain).toMatchObject({ name: 'customera-new.example', customer: { id: A.customerId } });
          created.domain.customerA = d.r.domain.id;
        }),
        // A customer always creates for itself: naming A's customerId does not give A the domain.
        customerB: allowed(() => ({ n: 'customerb-new.example', c: A.customerId }), async (d) => {
          expect(d.r.domain).toMatchObject({ name: 'customerb-new.example', customer: { id: B.customerId } });
          expect(ids((await t.ok(Q.domains, {}, A.token)).domains)).not.toContain(d.r.domain.id);
          created.domain.customerB = d.r.domain.id;
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ n: 'owner-new.example' })),
        readOnlyToken: refused('FORBIDDEN', () => ({ n: 'readonly-new.example' })),
        fullToken: allowed(() => ({ n: 'fulltoken-new.example' }), (d) => {
          expect(d.r.domain).toMatchObject({ name: 'fulltoken-new.example', customer: { id: A.customerId } });
          created.domain.fullToken = d.r.domain.id;
        }),
      },
    },
    {
      field: 'updateDomain',
      kind: 'mutation',
      doc: M.updateDomain,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: dA2.id, e: false })),
        admin: allowed(() => ({ id: created.domain.admin, e: false }), (d) => expect(d.r.domain).toEqual({ id: created.domain.admin, enabled: false })),
        // Customers cannot enable/disable or move even their own domains.
        customerA: refused('FORBIDDEN', () => ({ id: dA2.id, e: false }), async () => expect((await adminNode(dA2.id, 'on Domain { enabled }')).enabled).toBe(true)),
        customerB: refused('FORBIDDEN', () => ({ id: dA2.id, e: false })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: A.domainId, e: false })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: dA2.id, e: false })),
        fullToken: refused('FORBIDDEN', () => ({ id: dA2.id, e: false })),
      },
    },
    {
      field: 'deleteDomain',
      kind: 'mutation',
      doc: M.deleteDomain,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.domain.fullToken })),
        admin: allowed(() => ({ id: created.domain.admin }), (d) => expect(d.r.deletedId).toBe(created.domain.admin)),
        customerA: allowed(() => ({ id: created.domain.customerA }), (d) => expect(d.r.deletedId).toBe(created.domain.customerA)),
        // An empty domain of A: only the tenant rule stands between B and the delete.
        customerB: notFound('Domain', () => ({ id: created.domain.fullToken }), async () => {
          expect(ids((await t.ok(Q.domains, {}, A.token)).domains)).toContain(created.domain.fullToken);
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: A.domainId })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.domain.fullToken })),
        fullToken: allowed(() => ({ id: created.domain.fullToken }), (d) => expect(d.r.deletedId).toBe(created.domain.fullToken)),
      },
    },

    // ============================== alias domains (same rules as domains; the target decides the customer)
    {
      field: 'createAliasDomain',
      kind: 'mutation',
      doc: M.createAliasDomain,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ n: 'anonymous-alias.example', t: A.domainId })),
        admin: allowed(() => ({ n: 'admin-alias.example', t: A.domainId }), (d) => {
          expect(d.r.domain).toMatchObject({ name: 'admin-alias.example', aliasOf: { id: A.domainId }, customer: { id: A.customerId } });
          created.aliasDomain.admin = d.r.domain.id;
        }),
        customerA: allowed(() => ({ n: 'customera-alias.example', t: dA2.id }), (d) => {
          expect(d.r.domain).toMatchObject({ name: 'customera-alias.example', aliasOf: { id: dA2.id }, customer: { id: A.customerId } });
          created.aliasDomain.customerA = d.r.domain.id;
        }),
        // Another tenant's domain as target reads as not found.
        customerB: notFound('Domain', () => ({ n: 'customerb-alias.example', t: A.domainId })),
        mailboxOwner: refused('FORBIDDEN', () => ({ n: 'owner-alias.example', t: A.domainId })),
        readOnlyToken: refused('FORBIDDEN', () => ({ n: 'readonly-alias.example', t: A.domainId })),
        fullToken: allowed(() => ({ n: 'fulltoken-alias.example', t: A.domainId }), (d) => {
          expect(d.r.domain).toMatchObject({ name: 'fulltoken-alias.example', customer: { id: A.customerId } });
          created.aliasDomain.fullToken = d.r.domain.id;
        }),
      },
    },
    {
      field: 'deleteAliasDomain',
      kind: 'mutation',
      doc: M.deleteAliasDomain,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.aliasDomain.fullToken })),
        admin: allowed(() => ({ id: created.aliasDomain.admin }), (d) => expect(d.r.deletedId).toBe(created.aliasDomain.admin)),
        customerA: allowed(() => ({ id: created.aliasDomain.customerA }), (d) => expect(d.r.deletedId).toBe(created.aliasDomain.customerA)),
        customerB: notFound('Domain', () => ({ id: created.aliasDomain.fullToken }), async () => {
          expect(ids((await t.ok(Q.domains, {}, A.token)).domains)).toContain(created.aliasDomain.fullToken);
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: created.aliasDomain.fullToken })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.aliasDomain.fullToken })),
        fullToken: allowed(() => ({ id: created.aliasDomain.fullToken }), (d) => expect(d.r.deletedId).toBe(created.aliasDomain.fullToken)),
      },
    },

    // ============================== customers, packages, users (administrator only)
    {
      field: 'createCustomer',
      kind: 'mutation',
      doc: M.createCustomer,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ n: 'cust-anonymous', p: A.packageId })),
        admin: allowed(() => ({ n: 'cust-admin', p: A.packageId }), (d) => {
          expect(d.r.customer).toMatchObject({ name: 'cust-admin', package: { id: A.packageId } });
          created.customer = d.r.customer.id;
        }),
        customerA: refused('FORBIDDEN', () => ({ n: 'cust-customera', p: A.packageId })),
        customerB: refused('FORBIDDEN', () => ({ n: 'cust-customerb', p: A.packageId })),
        mailboxOwner: refused('FORBIDDEN', () => ({ n: 'cust-owner', p: A.packageId })),
        readOnlyToken: refused('FORBIDDEN', () => ({ n: 'cust-readonly', p: A.packageId })),
        fullToken: refused('FORBIDDEN', () => ({ n: 'cust-fulltoken', p: A.packageId })),
      },
    },
    {
      field: 'updateCustomer',
      kind: 'mutation',
      doc: M.updateCustomer,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: A.customerId, n: 'renamed' })),
        admin: allowed(() => ({ id: created.customer, n: 'cust-admin-renamed' }), (d) => expect(d.r.customer).toEqual({ id: created.customer, name: 'cust-admin-renamed' })),
        customerA: refused('FORBIDDEN', () => ({ id: A.customerId, n: 'renamed-by-a' }), async () => expect((await adminNode(A.customerId, 'on Customer { name }')).name).toBe('tenant-a')),
        customerB: refused('FORBIDDEN', () => ({ id: A.customerId, n: 'renamed-by-b' })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: A.customerId, n: 'renamed-by-owner' })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: A.customerId, n: 'renamed-by-ro' })),
        fullToken: refused('FORBIDDEN', () => ({ id: A.customerId, n: 'renamed-by-full' })),
      },
    },
    {
      field: 'deleteCustomer',
      kind: 'mutation',
      doc: M.deleteCustomer,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.customer })),
        admin: allowed(() => ({ id: created.customer }), (d) => expect(d.r.deletedId).toBe(created.customer)),
        customerA: refused('FORBIDDEN', () => ({ id: A.customerId })),
        customerB: refused('FORBIDDEN', () => ({ id: A.customerId })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: A.customerId })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: A.customerId })),
        fullToken: refused('FORBIDDEN', () => ({ id: A.customerId })),
      },
    },
    {
      field: 'createHostingPackage',
      kind: 'mutation',
      doc: M.createHostingPackage,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ n: 'pkg-anonymous' })),
        admin: allowed(() => ({ n: 'pkg-admin' }), (d) => {
          expect(d.r.hostingPackage).toMatchObject({ name: 'pkg-admin', maxMailboxes: 3 });
          created.hostingPackage = d.r.hostingPackage.id;
        }),
        customerA: refused('FORBIDDEN', () => ({ n: 'pkg-customera' })),
        customerB: refused('FORBIDDEN', () => ({ n: 'pkg-customerb' })),
        mailboxOwner: refused('FORBIDDEN', () => ({ n: 'pkg-owner' })),
        readOnlyToken: refused('FORBIDDEN', () => ({ n: 'pkg-readonly' })),
        fullToken: refused('FORBIDDEN', () => ({ n: 'pkg-fulltoken' })),
      },
    },
    {
      field: 'updateHostingPackage',
      kind: 'mutation',
      doc: M.updateHostingPackage,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: A.packageId, m: 999 })),
        admin: allowed(() => ({ id: created.hostingPackage, m: 4 }), (d) => expect(d.r.hostingPackage).toEqual({ id: created.hostingPackage, maxMailboxes: 4 })),
        // A customer cannot raise its own package's limits.
        customerA: refused('FORBIDDEN', () => ({ id: A.packageId, m: 999 }), async () => expect((await adminNode(A.packageId, 'on HostingPackage { maxMailboxes }')).maxMailboxes).toBe(50)),
        customerB: refused('FORBIDDEN', () => ({ id: A.packageId, m: 999 })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: A.packageId, m: 999 })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: A.packageId, m: 999 })),
        fullToken: refused('FORBIDDEN', () => ({ id: A.packageId, m: 999 })),
      },
    },
    {
      field: 'deleteHostingPackage',
      kind: 'mutation',
      doc: M.deleteHostingPackage,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.hostingPackage })),
        admin: allowed(() => ({ id: created.hostingPackage }), (d) => expect(d.r.deletedId).toBe(created.hostingPackage)),
        customerA: refused('FORBIDDEN', () => ({ id: A.packageId })),
        customerB: refused('FORBIDDEN', () => ({ id: A.packageId })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: A.packageId })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: A.packageId })),
        fullToken: refused('FORBIDDEN', () => ({ id: A.packageId })),
      },
    },
    {
      field: 'createUser',
      kind: 'mutation',
      doc: M.createUser,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ e: 'anon@tenant-a.example', c: A.customerId })),
        admin: allowed(() => ({ e: 'second@tenant-a.example', c: A.customerId }), (d) => {
          expect(d.r.user).toMatchObject({ email: 'second@tenant-a.example', role: 'CUSTOMER', customer: { id: A.customerId } });
          created.user = d.r.user.id;
        }),
        customerA: refused('FORBIDDEN', () => ({ e: 'by-a@tenant-a.example', c: A.customerId })),
        customerB: refused('FORBIDDEN', () => ({ e: 'by-b@tenant-a.example', c: A.customerId })),
        mailboxOwner: refused('FORBIDDEN', () => ({ e: 'by-owner@tenant-a.example', c: A.customerId })),
        readOnlyToken: refused('FORBIDDEN', () => ({ e: 'by-ro@tenant-a.example', c: A.customerId })),
        fullToken: refused('FORBIDDEN', () => ({ e: 'by-full@tenant-a.example', c: A.customerId })),
      },
    },
    {
      field: 'updateUser',
      kind: 'mutation',
      doc: M.updateUser,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: userA.id, d: true })),
        admin: allowed(() => ({ id: created.user, d: true }), (d) => expect(d.r.user).toEqual({ id: created.user, disabled: true })),
        // Not even its own login.
        customerA: refused('FORBIDDEN', () => ({ id: userA.id, d: true }), async () => expect((await adminNode(userA.id, 'on User { disabled }')).disabled).toBe(false)),
        customerB: refused('FORBIDDEN', () => ({ id: userA.id, d: true })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: userA.id, d: true })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: userA.id, d: true })),
        fullToken: refused('FORBIDDEN', () => ({ id: userA.id, d: true })),
      },
    },
    {
      field: 'deleteUser',
      kind: 'mutation',
      doc: M.deleteUser,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: created.user })),
        admin: allowed(() => ({ id: created.user }), (d) => expect(d.r.deletedId).toBe(created.user)),
        customerA: refused('FORBIDDEN', () => ({ id: userA.id })),
        customerB: refused('FORBIDDEN', () => ({ id: userA.id })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: userA.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: userA.id })),
        fullToken: refused('FORBIDDEN', () => ({ id: userA.id })),
      },
    },

    // ============================== API tokens
    {
      field: 'createApiToken',
      kind: 'mutation',
      doc: M.createApiToken,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ n: 'anon', s: 'READ_ONLY' })),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'customerB', 'fullToken'] as const).map((a) => [
            a,
            allowed(() => ({ n: `made-by-${slug(a)}`, s: 'FULL' }), async (d) => {
              expect(d.r.created.apiToken).toMatchObject({ name: `made-by-${slug(a)}`, scope: 'FULL' });
              expect(d.r.created.token).toMatch(/^mpat_/);
              created.apiToken[a] = d.r.created.apiToken.id;
              // The new token works and acts as the same user.
              const v = (await t.ok(Q.viewer, {}, d.r.created.token)).viewer;
              expect(v.label).toContain(`made-by-${slug(a)}`);
              expect(v.user.id).toBe(a === 'admin' ? adminUser.id : a === 'customerB' ? userB.id : userA.id);
            }),
          ]),
        ) as Record<'admin' | 'customerA' | 'customerB' | 'fullToken', Cell>),
        mailboxOwner: refused('FORBIDDEN', () => ({ n: 'by-owner', s: 'READ_ONLY' })),
        // A READ_ONLY token cannot mint any token, not even another READ_ONLY one.
        readOnlyToken: refused('FORBIDDEN', () => ({ n: 'by-readonly', s: 'READ_ONLY' })),
      },
    },
    {
      field: 'revokeApiToken',
      kind: 'mutation',
      doc: M.revokeApiToken,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: full.apiToken.id })),
        admin: allowed(() => ({ id: created.apiToken.admin }), async (d) => {
          expect(d.r.apiToken.id).toBe(created.apiToken.admin);
          expect(d.r.apiToken.revokedAt).toEqual(expect.any(String));
          // Tokens belong to their user: even the administrator cannot revoke a customer's token.
          const other = await t.ok(M.revokeApiToken, { id: full.apiToken.id }, t.adminToken);
          expect(other.r).toMatchObject({ __typename: 'NotFoundError', entity: 'ApiToken' });
        }),
        customerA: allowed(() => ({ id: created.apiToken.customerA }), (d) => expect(d.r.apiToken.id).toBe(created.apiToken.customerA)),
        customerB: notFound('ApiToken', () => ({ id: full.apiToken.id }), async () => {
          expect((await t.ok(Q.viewer, {}, full.token)).viewer.user.id).toBe(userA.id); // still works
        }),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: full.apiToken.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: created.apiToken.fullToken })),
        fullToken: allowed(() => ({ id: created.apiToken.fullToken }), (d) => expect(d.r.apiToken.id).toBe(created.apiToken.fullToken)),
      },
    },

    // ============================== email security
    {
      field: 'enableDkim',
      kind: 'mutation',
      doc: ES.enableDkim,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ d: A.domainId })),
        admin: allowed(() => ({ d: B.domainId }), (d) => expect(d.r.domain).toMatchObject({ id: B.domainId, dkim: { status: 'ACTIVE' } })),
        customerA: allowed(() => ({ d: A.domainId }), (d) => expect(d.r.domain).toMatchObject({ id: A.domainId, dkim: { status: 'ACTIVE' } })),
        customerB: notFound('Domain', () => ({ d: dA2.id }), async () => expect(await dkimEnabled(dA2.id)).toBeNull()),
        mailboxOwner: refused('FORBIDDEN', () => ({ d: dA2.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ d: dA2.id }), async () => expect(await dkimEnabled(dA2.id)).toBeNull()),
        fullToken: allowed(() => ({ d: dA2.id }), (d) => expect(d.r.domain).toMatchObject({ id: dA2.id, dkim: { status: 'ACTIVE' } })),
      },
    },
    {
      field: 'rotateDkimKey',
      kind: 'mutation',
      doc: ES.rotateDkimKey,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ d: A.domainId })),
        admin: allowed(() => ({ d: B.domainId }), (d) => void (es.pending.admin = pendingOf(d))),
        customerA: allowed(() => ({ d: A.domainId }), (d) => void (es.pending.customerA = pendingOf(d))),
        customerB: notFound('Domain', () => ({ d: dA2.id })),
        mailboxOwner: refused('FORBIDDEN', () => ({ d: dA2.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ d: dA2.id })),
        fullToken: allowed(() => ({ d: dA2.id }), (d) => void (es.pending.fullToken = pendingOf(d))),
      },
    },
    {
      field: 'activateDkimKey',
      kind: 'mutation',
      doc: ES.activateDkimKey,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: es.pending.customerA })),
        admin: { ...allowed(() => ({}), () => {}), run: async (doc) => expect((await t.ok(doc, await pendingReady('admin'), t.adminToken)).r.domain.dkim).toEqual({ id: es.pending.admin, status: 'ACTIVE' }) },
        customerA: { ...allowed(() => ({}), () => {}), run: async (doc) => expect((await t.ok(doc, await pendingReady('customerA'), A.token)).r.domain.dkim).toEqual({ id: es.pending.customerA, status: 'ACTIVE' }) },
        customerB: notFound('DkimKey', () => ({ id: es.pending.fullToken })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: es.pending.fullToken })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: es.pending.fullToken })),
        fullToken: { ...allowed(() => ({}), () => {}), run: async (doc) => expect((await t.ok(doc, await pendingReady('fullToken'), full.token)).r.domain.dkim).toEqual({ id: es.pending.fullToken, status: 'ACTIVE' }) },
      },
    },
    {
      field: 'disableDkim',
      kind: 'mutation',
      doc: ES.disableDkim,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ d: A.domainId })),
        admin: allowed(() => ({ d: B.domainId }), (d) => expect(d.r.domain).toEqual({ id: B.domainId, dkim: null })),
        customerA: allowed(() => ({ d: A.domainId }), (d) => expect(d.r.domain).toEqual({ id: A.domainId, dkim: null })),
        customerB: notFound('Domain', () => ({ d: dA2.id }), async () => expect(await dkimEnabled(dA2.id)).toMatchObject({ status: 'ACTIVE' })),
        mailboxOwner: refused('FORBIDDEN', () => ({ d: dA2.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ d: dA2.id })),
        fullToken: allowed(() => ({ d: dA2.id }), (d) => expect(d.r.domain).toEqual({ id: dA2.id, dkim: null })),
      },
    },
    {
      field: 'checkDnsRecords',
      kind: 'mutation',
      doc: ES.checkDnsRecords,
      // DNS_SERVER points where nothing answers (test/per-file-database.ts): every lookup fails fast.
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ d: A.domainId })),
        admin: allowed(() => ({ d: B.domainId }), (d) => expect(d.r.check).toEqual({ domain: { id: B.domainId }, records: [{ kind: 'SPF', status: 'LOOKUP_FAILED' }, { kind: 'DMARC', status: 'LOOKUP_FAILED' }] })),
        customerA: allowed(() => ({ d: A.domainId }), (d) => expect(d.r.check.domain).toEqual({ id: A.domainId })),
        customerB: notFound('Domain', () => ({ d: A.domainId })),
        mailboxOwner: refused('FORBIDDEN', () => ({ d: A.domainId })),
        readOnlyToken: refused('FORBIDDEN', () => ({ d: A.domainId })),
        fullToken: allowed(() => ({ d: dA2.id }), (d) => expect(d.r.check.domain).toEqual({ id: dA2.id })),
      },
    },
    {
      field: 'updateSpamSettings',
      kind: 'mutation',
      doc: ES.updateSpamSettings,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ d: A.domainId, t: 9 })),
        admin: allowed(() => ({ d: B.domainId, t: 7 }), (d) => expect(d.r.domain).toEqual({ id: B.domainId, spamSettings: { threshold: 7 } })),
        customerA: allowed(() => ({ d: A.domainId, t: 8 }), (d) => expect(d.r.domain).toEqual({ id: A.domainId, spamSettings: { threshold: 8 } })),
        customerB: notFound('Domain', () => ({ d: A.domainId, t: 20 }), async () => expect((await adminNode(A.domainId, 'on Domain { spamSettings { threshold } }')).spamSettings.threshold).toBe(8)),
        mailboxOwner: refused('FORBIDDEN', () => ({ d: A.domainId, t: 20 })),
        readOnlyToken: refused('FORBIDDEN', () => ({ d: A.domainId, t: 20 })),
        fullToken: allowed(() => ({ d: A.domainId, t: 9 }), (d) => expect(d.r.domain).toEqual({ id: A.domainId, spamSettings: { threshold: 9 } })),
      },
    },
    {
      field: 'addSpamListEntry',
      kind: 'mutation',
      doc: ES.addSpamListEntry,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ d: A.domainId, v: 'anon@spam.test' })),
        admin: allowed(() => ({ d: B.domainId, v: 'admin@spam.test' }), (d) => void (es.entry.admin = d.r.entry.id)),
        customerA: allowed(() => ({ d: A.domainId, v: 'customera@spam.test' }), (d) => {
          expect(d.r.entry).toMatchObject({ value: 'customera@spam.test', domain: { id: A.domainId } });
          es.entry.customerA = d.r.entry.id;
        }),
        customerB: notFound('Domain', () => ({ d: A.domainId, v: 'customerb@spam.test' })),
        mailboxOwner: refused('FORBIDDEN', () => ({ d: A.domainId, v: 'owner@spam.test' })),
        readOnlyToken: refused('FORBIDDEN', () => ({ d: A.domainId, v: 'ro@spam.test' })),
        fullToken: allowed(() => ({ d: A.domainId, v: 'full@spam.test' }), (d) => void (es.entry.fullToken = d.r.entry.id)),
      },
    },
    {
      field: 'removeSpamListEntry',
      kind: 'mutation',
      doc: ES.removeSpamListEntry,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: es.entry.customerA })),
        admin: allowed(() => ({ id: es.entry.admin }), (d) => expect(d.r.deletedId).toBe(es.entry.admin)),
        customerA: allowed(() => ({ id: es.entry.customerA }), (d) => expect(d.r.deletedId).toBe(es.entry.customerA)),
        customerB: notFound('SpamListEntry', () => ({ id: es.entry.fullToken })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: es.entry.fullToken })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: es.entry.fullToken })),
        fullToken: allowed(() => ({ id: es.entry.fullToken }), (d) => expect(d.r.deletedId).toBe(es.entry.fullToken)),
      },
    },
    ...(['releaseQuarantined', 'deleteQuarantined'] as const).map((field): Row => {
      const items = field === 'releaseQuarantined' ? q.release : q.delete;
      const status = field === 'releaseQuarantined' ? 'RELEASING' : 'DELETED';
      const done = (id: string) => (d: any) => expect(d.r.item).toEqual({ id, status });
      return {
        field,
        kind: 'mutation',
        doc: ES[field],
        cells: {
          anonymous: refused('UNAUTHENTICATED', () => ({ id: items.A1 })),
          admin: allowed(() => ({ id: items.B }), done(items.B)),
          customerA: allowed(() => ({ id: items.A2a }), done(items.A2a)),
          customerB: notFound('QuarantineItem', () => ({ id: items.A2b }), async () => expect(await esStatus(items.A2b)).toBe('HELD')),
          // A mailbox owner decides about its own quarantine, not about another mailbox's.
          mailboxOwner: allowed(() => ({ id: items.A1 }), async (d) => {
            done(items.A1)(d);
            const other = await t.ok(ES[field], { id: items.A2b }, ownerToken);
            expect(other.r).toMatchObject({ __typename: 'NotFoundError', entity: 'QuarantineItem' });
          }),
          readOnlyToken: refused('FORBIDDEN', () => ({ id: items.A2b }), async () => expect(await esStatus(items.A2b)).toBe('HELD')),
          fullToken: allowed(() => ({ id: items.A2b }), done(items.A2b)),
        },
      };
    }),
    {
      field: 'setSendingLimitOverride',
      kind: 'mutation',
      doc: ES.setSendingLimitOverride,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA1.id, n: 1 })),
        admin: allowed(() => ({ id: mA1.id, n: 50 }), (d) => expect(d.r.sendingLimit).toEqual({ kind: 'MAILBOX', limit: 50, override: 50 })),
        // Limits are the hosting company's: not even the customer raises its own.
        customerA: refused('FORBIDDEN', () => ({ id: mA1.id, n: 1000 })),
        customerB: refused('FORBIDDEN', () => ({ id: mA1.id, n: 1000 })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: mA1.id, n: 1000 })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: A.domainId, n: 1000 })),
        fullToken: refused('FORBIDDEN', () => ({ id: A.domainId, n: 1000 })),
      },
    },

    // ============================== two-factor login: a person's own login; the administrators' reset and requirement
    {
      field: 'panelSettings',
      kind: 'query',
      doc: Q.panelSettings,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        admin: allowed(() => ({}), (d) => expect(d.panelSettings).toEqual({ requireTwoFactor: false })),
        customerA: refused('FORBIDDEN'),
        customerB: refused('FORBIDDEN'),
        mailboxOwner: refused('FORBIDDEN'),
        readOnlyToken: refused('FORBIDDEN'),
        fullToken: refused('FORBIDDEN'),
      },
    },
    {
      field: 'startTwoFactorEnrolment',
      kind: 'mutation',
      doc: M.startTwoFactorEnrolment,
      cells: {
        // Without a login challenge it is the caller's own login: an API token is not a person's login.
        anonymous: authError(() => ({ c: null })),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'customerB', 'mailboxOwner'] as const).map((a) => [
            a,
            allowed(() => ({ c: null }), (d) => expect(d.r.enrolment.otpauthUri).toMatch(/^otpauth:\/\/totp\//)),
          ]),
        ) as Record<'admin' | 'customerA' | 'customerB' | 'mailboxOwner', Cell>),
        readOnlyToken: authError(() => ({ c: null })),
        fullToken: authError(() => ({ c: null })),
      },
    },
    {
      field: 'confirmTwoFactorEnrolment',
      kind: 'mutation',
      doc: M.confirmTwoFactorEnrolment,
      cells: {
        anonymous: authError(() => ({ k: '000000', c: null })),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'customerB', 'mailboxOwner'] as const).map((a) => [a, fieldError('code', 'WRONG_CODE', () => ({ k: '000000', c: null }))]),
        ) as Record<'admin' | 'customerA' | 'customerB' | 'mailboxOwner', Cell>),
        readOnlyToken: authError(() => ({ k: '000000', c: null })),
        fullToken: authError(() => ({ k: '000000', c: null })),
      },
    },
    ...(['disableTwoFactor', 'regenerateRecoveryCodes'] as const).map((field) => ({
      field,
      kind: 'mutation' as const,
      doc: M[field],
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ k: '000000' })),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'customerB', 'mailboxOwner'] as const).map((a) => [a, fieldError('code', 'NOT_ENABLED', () => ({ k: '000000' }))]),
        ) as Record<'admin' | 'customerA' | 'customerB' | 'mailboxOwner', Cell>),
        readOnlyToken: refused('FORBIDDEN', () => ({ k: '000000' })),
        fullToken: refused('FORBIDDEN', () => ({ k: '000000' })),
      },
    })),
    {
      field: 'resetTwoFactor',
      kind: 'mutation',
      doc: M.resetTwoFactor,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: mA1.id })),
        // The mailbox owner's enrolment begun in the row above (not yet confirmed) is removed.
        admin: allowed(() => ({ id: mA1.id }), (d) => expect(d.r.resetId).toBe(mA1.id)),
        customerA: refused('FORBIDDEN', () => ({ id: mA1.id })),
        customerB: refused('FORBIDDEN', () => ({ id: mA1.id })),
        mailboxOwner: refused('FORBIDDEN', () => ({ id: mA1.id })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: mA1.id })),
        fullToken: refused('FORBIDDEN', () => ({ id: mA1.id })),
      },
    },
    {
      field: 'setTwoFactorRequirement',
      kind: 'mutation',
      doc: M.setTwoFactorRequirement,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ r: true })),
        admin: allowed(() => ({ r: false, c: B.customerId }), (d) => expect(d.r.settings).toEqual({ requireTwoFactor: false })),
        // Who must use a second factor is the hosting company's call, not the customer's.
        customerA: refused('FORBIDDEN', () => ({ r: false, c: A.customerId })),
        customerB: refused('FORBIDDEN', () => ({ r: false, c: B.customerId })),
        mailboxOwner: refused('FORBIDDEN', () => ({ r: true })),
        readOnlyToken: refused('FORBIDDEN', () => ({ r: true })),
        fullToken: refused('FORBIDDEN', () => ({ r: true, c: A.customerId })),
      },
    },

    // ============================== app passwords: whoever may manage the mailbox
    {
      field: 'createAppPassword',
      kind: 'mutation',
      doc: M.createAppPassword,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ m: mA1.id, n: 'anon' })),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'mailboxOwner', 'fullToken'] as const).map((a) => [
            a,
            allowed(() => ({ m: mA1.id, n: `by-${slug(a)}` }), (d) => {
              expect(d.r.created.appPassword.name).toBe(`by-${slug(a)}`);
              expect(d.r.created.password).toMatch(/^[a-z2-9-]{23}$/);
              appPasswordOf[a] = d.r.created.appPassword.id;
            }),
          ]),
        ) as Record<'admin' | 'customerA' | 'mailboxOwner' | 'fullToken', Cell>),
        customerB: notFound('Mailbox', () => ({ m: mA1.id, n: 'by-b' })),
        readOnlyToken: refused('FORBIDDEN', () => ({ m: mA1.id, n: 'by-readonly' })),
      },
    },
    {
      field: 'revokeAppPassword',
      kind: 'mutation',
      doc: M.revokeAppPassword,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: appPasswordOf.admin })),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'mailboxOwner', 'fullToken'] as const).map((a) => [
            a,
            allowed(() => ({ id: appPasswordOf[a] }), (d) => expect(d.r.appPassword.revokedAt).toBeTruthy()),
          ]),
        ) as Record<'admin' | 'customerA' | 'mailboxOwner' | 'fullToken', Cell>),
        customerB: notFound('AppPassword', () => ({ id: appPasswordOf.customerA })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: appPasswordOf.customerA })),
      },
    },
    {
      field: 'setAppPasswordsOnly',
      kind: 'mutation',
      doc: M.setAppPasswordsOnly,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ m: mA1.id, e: false })),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'mailboxOwner', 'fullToken'] as const).map((a) => [
            a,
            allowed(() => ({ m: mA1.id, e: false }), (d) => expect(d.r.mailbox.appPasswordsOnly).toBe(false)),
          ]),
        ) as Record<'admin' | 'customerA' | 'mailboxOwner' | 'fullToken', Cell>),
        customerB: notFound('Mailbox', () => ({ m: mA1.id, e: true })),
        readOnlyToken: refused('FORBIDDEN', () => ({ m: mA1.id, e: false })),
      },
    },

    // ============================== a person's own logins (sessions)
    {
      field: 'endSession',
      kind: 'mutation',
      doc: M.endSession,
      cells: {
        anonymous: refused('UNAUTHENTICATED', () => ({ id: NO_SESSION })),
        // Only one's own open login: anyone else's (or none) reads as not found.
        admin: notFound('LoginSession', () => ({ id: NO_SESSION })),
        customerA: notFound('LoginSession', () => ({ id: NO_SESSION })),
        customerB: notFound('LoginSession', () => ({ id: NO_SESSION })),
        mailboxOwner: notFound('LoginSession', () => ({ id: NO_SESSION })),
        readOnlyToken: refused('FORBIDDEN', () => ({ id: NO_SESSION })),
        fullToken: refused('FORBIDDEN', () => ({ id: NO_SESSION })),
      },
    },
    {
      field: 'endOtherSessions',
      kind: 'mutation',
      doc: M.endOtherSessions,
      cells: {
        anonymous: refused('UNAUTHENTICATED'),
        ...(Object.fromEntries(
          (['admin', 'customerA', 'customerB', 'mailboxOwner'] as const).map((a) => [
            a,
            allowed(() => ({}), async (d) => {
              expect(typeof d.r.ended).toBe('number');
              // Its own login goes on.
              expect((await t.gql(Q.viewer, {}, token[a])).errors).toBeUndefined();
            }),
          ]),
        ) as Record<'admin' | 'customerA' | 'customerB' | 'mailboxOwner', Cell>),
        readOnlyToken: refused('FORBIDDEN'),
        fullToken: refused('FORBIDDEN'),
      },
    },

    // ============================== sessions: public by nature — they act on credentials, not on the caller
    {
      field: 'login',
      kind: 'mutation',
      doc: M.login,
      cells: Object.fromEntries(
        ACTORS.map((a) => [
          a,
          allowed(() => ({ e: A.email, p: CUSTOMER_PASSWORD }), (d) => {
            expect(d.r.session.viewer).toEqual({ kind: 'CUSTOMER', label: A.email });
            created.session[a] = d.r.session.refreshToken;
          }),
        ]),
      ) as Record<Actor, Cell>,
    },
    {
      field: 'refreshSession',
      kind: 'mutation',
      doc: M.refreshSession,
      cells: Object.fromEntries(
        ACTORS.map((a) => [
          a,
          allowed(() => ({ t: created.session[a] }), (d) => {
            expect(d.r.session.viewer).toEqual({ kind: 'CUSTOMER', label: A.email });
            expect(d.r.session.refreshToken).not.toBe(created.session[a]);
            created.session[a] = d.r.session.refreshToken;
          }),
        ]),
      ) as Record<Actor, Cell>,
    },
    {
      // A challenge is a credential of its own (the password step's proof): the caller does not matter.
      field: 'completeLogin',
      kind: 'mutation',
      doc: M.completeLogin,
      cells: Object.fromEntries(ACTORS.map((a) => [a, authError(() => ({ c: 'not-a-challenge', k: '123456' }))])) as Record<Actor, Cell>,
    },
    {
      field: 'logout',
      kind: 'mutation',
      doc: M.logout,
      cells: Object.fromEntries(
        ACTORS.map((a) => [
          a,
          allowed(() => ({ t: created.session[a] }), async (d) => {
            expect(d.r).toBe(true);
            const again = await t.ok(M.refreshSession, { t: created.session[a] });
            expect(again.r.__typename).toBe('AuthenticationError');
          }),
        ]),
      ) as Record<Actor, Cell>,
    },

    // ============================== bulk import and export (issue 16, bulk-import) — dry runs, so later rows see nothing new
    ...(() => {
      const IMPORT = (kind: 'Mailboxes' | 'Forwards') =>
        `mutation($c:String!){ r: import${kind}(input:{ csv:$c, dryRun:true }){ __typename ... on MutationImport${kind}Success { result { dryRun rows { address outcome fieldErrors { field code } } } } ${ERR} } }`;
      const mailboxCsv = () => `address,password\nbulk@${A.domain},violet-harbour-sextant-91\n`;
      const forwardCsv = () => `source,destinations\nbulk-fwd@${A.domain},ext@elsewhere.test\n`;
      const creates = (d: any) => expect(d.r.result).toEqual({ dryRun: true, rows: [{ address: expect.stringMatching(/^bulk/), outcome: 'CREATE', fieldErrors: [] }] });
      const importRow = (kind: 'Mailboxes' | 'Forwards', csv: () => string, field: string): Row => ({
        field: `import${kind}`,
        kind: 'mutation',
        doc: IMPORT(kind),
        cells: {
          anonymous: refused('UNAUTHENTICATED', () => ({ c: csv() })),
          admin: allowed(() => ({ c: csv() }), creates),
          customerA: allowed(() => ({ c: csv() }), creates),
          // Another customer's domain in the file: that row is "not found", nothing else is said.
          customerB: allowed(() => ({ c: csv() }), (d) => expect(d.r.result.rows).toEqual([{ address: expect.any(String), outcome: 'ERROR', fieldErrors: [{ field, code: 'NOT_FOUND' }] }])),
          mailboxOwner: refused('FORBIDDEN', () => ({ c: csv() })),
          readOnlyToken: refused('FORBIDDEN', () => ({ c: csv() })),
          fullToken: allowed(() => ({ c: csv() }), creates),
        },
      });
      const exportRow = (what: 'Mailboxes' | 'Forwards', own: (tn: typeof A) => string): Row => {
        const sees = (mine: (typeof A)[], hidden: (typeof A)[]) => (d: any) => {
          const csv = d[`export${what}`] as string;
          expect(csv).not.toMatch(/password|argon2/i);
          for (const tn of mine) expect(csv).toContain(own(tn));
          for (const tn of hidden) expect(csv).not.toContain(`@${tn.domain}`);
        };
        return {
          field: `export${what}`,
          kind: 'query',
          doc: `{ export${what} }`,
          cells: {
            anonymous: refused('UNAUTHENTICATED'),
            admin: allowed(() => ({}), sees([A, B], [])),
            customerA: allowed(() => ({}), sees([A], [B])),
            customerB: allowed(() => ({}), sees([B], [A])),
            mailboxOwner: refused('FORBIDDEN'),
            readOnlyToken: allowed(() => ({}), sees([A], [B])),
            fullToken: allowed(() => ({}), sees([A], [B])),
          },
        };
      };
      return [
        importRow('Mailboxes', mailboxCsv, 'address'),
        importRow('Forwards', forwardCsv, 'source'),
        exportRow('Mailboxes', (tn) => (tn === A ? `other@${A.domain}` : `bmail@${B.domain}`)),
        exportRow('Forwards', (tn) => `list@${tn.domain},ext@elsewhere.test`),
      ];
    })(),
  ];

  // ---------------------------------------------------------------- the cells as tests
  for (const row of rows) {
    describe(`${row.kind} ${row.field}`, () => {
      for (const actor of ACTORS) {
        const cell = row.cells[actor];
        it(`${actor} → ${cell.outcome}`, () => cell.run(row.doc, actor));
      }
    });
  }

  // ---------------------------------------------------------------- coverage and consistency of the matrix
  describe('matrix coverage', () => {
    it('has one row for every query and mutation of the schema, and a cell for every actor', async () => {
      const s = await t.ok(`{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`);
      const schemaFields = [
        ...s.__schema.queryType.fields.map((f: { name: string }) => `query ${f.name}`),
        ...s.__schema.mutationType.fields.map((f: { name: string }) => `mutation ${f.name}`),
      ].sort();
      expect(rows.map((r) => `${r.kind} ${r.field}`).sort()).toEqual(schemaFields);
      for (const r of rows) expect(Object.keys(r.cells).sort()).toEqual([...ACTORS].sort());
    });

    it('every mutation except the session ones refuses anonymous callers and READ_ONLY tokens', () => {
      // Public by nature, or with a login challenge as their credential.
      const sessionOps = ['login', 'refreshSession', 'logout', 'completeLogin', 'startTwoFactorEnrolment', 'confirmTwoFactorEnrolment'];
      for (const r of rows.filter((x) => x.kind === 'mutation' && !sessionOps.includes(x.field))) {
        expect(r.cells.anonymous.outcome, r.field).toBe('UNAUTHENTICATED');
        expect(r.cells.readOnlyToken.outcome, r.field).toBe('FORBIDDEN');
      }
      for (const r of rows.filter((x) => x.kind === 'query' && !['viewer', 'node', 'nodes'].includes(x.field)))
        expect(r.cells.anonymous.outcome, r.field).toBe('UNAUTHENTICATED');
    });
  });

  // ---------------------------------------------------------------- details the matrix cells do not show
  describe('mailbox owner cannot reach another mailbox of the same customer', () => {
    it('never gets it from node/nodes/mailboxes or the audit log, and cannot manage it', async () => {
      const n = await t.gql(`query($id:ID!){ node(id:$id){ id } nodes(ids:[$id]){ id } }`, { id: mA2.id }, ownerToken);
      expect(n.data?.node?.id).not.toBe(mA2.id);
      expect(n.data?.nodes?.[0]?.id).not.toBe(mA2.id);
      expect(ids((await t.ok(Q.mailboxes, { f: { search: 'other' } }, ownerToken)).mailboxes)).toEqual([]);
      expect(await auditTotal(ownerToken, { search: mA2.address })).toBe(0);
      for (const [doc, vars] of [
        [M.setMailboxStatus, { id: mA2.id, s: 'DISABLED' }],
        [M.updateMailbox, { id: mA2.id, q: 1 }],
        [M.deleteMailbox, { id: mA2.id }],
      ] as const)
        expectRefused(await t.gql(doc, vars, ownerToken), 'FORBIDDEN', 'mutation');
    });

    it('its password and autoresponder calls leave the other mailbox untouched', async () => {
      const before = (await adminNode(mA2.id, 'on Mailbox { autoresponder { subject } }')).autoresponder.subject;
      await t.ok(M.setAutoresponder, { id: mA2.id, s: 'hijacked' }, ownerToken);
      expect((await adminNode(mA2.id, 'on Mailbox { autoresponder { subject } }')).autoresponder.subject).toBe(before);
      await t.ok(M.changeMailboxPassword, { id: mA2.id, p: 'owner-hijack-1' }, ownerToken);
      expect(await loginResult(mA2.address, 'owner-hijack-1')).toMatchObject({ __typename: 'AuthenticationError' });
      expect((await loginResult(mA2.address, MAILBOX_PASSWORD)).__typename).toBe('MutationLoginSuccess');
      // Its own mailbox was not changed instead (a tenant rule must never replace the requested id).
      expect((await loginResult(mA1.address, 'owner-hijack-1')).__typename).toBe('AuthenticationError');
    });
  });

  describe('revoked and unknown API tokens', () => {
    it('a revoked token is refused as UNAUTHENTICATED with a message about the token', async () => {
      const c = (await t.ok(M.createApiToken, { n: 'to-revoke', s: 'FULL' }, A.token)).r.created;
      expect((await t.ok(Q.mailboxes, {}, c.token)).mailboxes.totalCount).toBe(2); // works before
      expect((await t.ok(M.revokeApiToken, { id: c.apiToken.id }, A.token)).r.__typename).toBe('MutationRevokeApiTokenSuccess');

      const q = await t.gql(Q.mailboxes, {}, c.token);
      expect(q.data).toBeNull();
      expect(q.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/API token.*revoked/i), extensions: { code: 'UNAUTHENTICATED' } })]);
      const m = await t.gql(M.createForward, { s: `revoked@${A.domain}`, d: ['x@elsewhere.test'] }, c.token);
      expect(m.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['UNAUTHENTICATED', expect.stringMatching(/token/i)]]);
      // Nothing about the owner leaks through the public viewer field either.
      expect((await t.gql(Q.viewer, {}, c.token)).data).toEqual({ viewer: null });
      // It is listed as revoked, and hidden by default.
      const list = await t.ok(`{ all: apiTokens(includeRevoked:true){ edges { node { id revokedAt } } } live: apiTokens { edges { node { id } } } }`, {}, A.token);
      expect(list.all.edges.find((e: any) => e.node.id === c.apiToken.id).node.revokedAt).toEqual(expect.any(String));
      expect(ids(list.live)).not.toContain(c.apiToken.id);
    });

    it('an unknown token is refused the same way', async () => {
      const r = await t.gql(Q.domains, {}, 'mpat_thisTokenDoesNotExist');
      expect(r.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([['UNAUTHENTICATED', 'API token is invalid, expired or revoked']]);
    });
  });

  describe('regressions: tenant rules never replace the requested id; hidden ids are plain null', () => {
    // Regression (was a bug): tenant-id-override. tenancy.ts expresses some rules as `{ id: <the caller's own id> }`
    // (customer → Customer and User; mailbox owner → Customer and Mailbox), and callers spread the
    // rule AFTER the requested id: `{ id, ...tenantWhere.x(viewer) }` (prismaNode findUnique in
    // customer.ts / user.ts / mailbox.ts, loadMailbox and setAutoresponder in mailbox.ts /
    // autoresponder.ts). The rule's `id` replaces the requested one, so instead of "not found" the
    // caller gets — or writes to — its OWN row. No other tenant's data leaks, but:
    //   - node(<A's customer id>) as customer B returns customer B (id ≠ the id asked for);
    //   - node(<any user id>) as a customer returns its own user;
    //   - a mailbox owner's node(<any mailbox id>, even another customer's) returns its own mailbox;
    //   - a mailbox owner's changeMailboxPassword / setAutoresponder on ANY mailbox id answers
    //     Success and changes its own mailbox (and the audit log records it as such).
    // The same spread is in the mailboxChanged subscription (a mailbox owner may subscribe to any
    // mailbox id's change events, and receives its own mailbox on each).
    it('node(<customer A id>) as customer B is null (regression: tenant-id-override)', async () => {
      const r = await t.gql(`query($id:ID!){ node(id:$id){ __typename id ... on Customer { name } } }`, { id: A.customerId }, B.token);
      expect(r).toEqual({ data: { node: null } }); // actually: { node: { __typename: 'Customer', id: <B's id>, name: 'tenant-b' } }
    });

    // Regression (was a bug): tenant-id-override — a mailbox owner's password change on another mailbox hits its own mailbox.
    it('mailbox owner: changeMailboxPassword on another mailbox of its customer is NotFoundError (regression: tenant-id-override)', async () => {
      const r = await t.ok(M.changeMailboxPassword, { id: mA2.id, p: MAILBOX_PASSWORD }, ownerToken);
      expect(r.r).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' }); // actually: Success with mailbox = mA1
    });

    // Regression (was a bug): tenant-id-override — a mailbox owner's autoresponder on another customer's mailbox hits its own.
    it('mailbox owner: setAutoresponder on another customer’s mailbox is NotFoundError (regression: tenant-id-override)', async () => {
      const r = await t.ok(M.setAutoresponder, { id: mB.id, s: 'cross-tenant' }, ownerToken);
      expect(r.r).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' }); // actually: Success, mA1's autoresponder changed
    });

    it('mailbox owner: recalculateQuota on another mailbox (same customer or not) is NotFoundError', async () => {
      for (const id of [mA2.id, mB.id]) {
        const r = await t.ok(M.recalculateQuota, { id }, ownerToken);
        expect(r.r).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' });
      }
    });

    // Regression (was a bug): node-internal-error. node(id) / nodes(ids) for an id the caller may not see (another
    // tenant's forward/domain/mailbox…, any id for an anonymous caller, or a well-formed id that
    // does not exist even for the admin) answers errors: [{ message: "Unexpected error.",
    // extensions: { code: "INTERNAL_SERVER_ERROR" } }] and logs "unexpected error"
    // (PrismaClientKnownRequestError: findUniqueOrThrow found no record) instead of a plain null:
    // prismaNode loads with findUniqueOrThrow because the node types are not declared nullable. In
    // nodes(ids) one such id nulls the whole response (data: null).
    it('node(<A’s forward id>) as customer B is a plain null without an error (regression: node-internal-error)', async () => {
      const r = await t.gql(`query($id:ID!){ node(id:$id){ id } }`, { id: fA.id }, B.token);
      expect(r).toEqual({ data: { node: null } });
    });

    // Regression (was a bug): customer-relations-bypass (low severity). A mailbox owner sees only its own mailbox and
    // the domain it lives on (the `domains` query returns just that one), but
    // `viewer { customer { domains } }` lists every domain of the customer: the relatedConnection
    // Customer.domains does not apply tenantWhere.domain. Same root cause:
    // `viewer { customer { package { name maxMailboxes } } }` returns the hosting package although
    // node(<package id>) is hidden from a mailbox owner.
    it('a mailbox owner sees only its own domain through viewer.customer.domains (regression: customer-relations-bypass)', async () => {
      const r = await t.ok(`{ viewer { customer { domains { totalCount edges { node { id name } } } } } }`, {}, ownerToken);
      expect(r.viewer.customer.domains.edges.map((e: any) => e.node.id)).toEqual([A.domainId]); // actually: also second-a.example
      expect(r.viewer.customer.domains.totalCount).toBe(1);
    });
  });
});
