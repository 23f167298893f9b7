// The migration API without a mail server: validation, authorization and tenancy, the stored row
// (password encrypted, never returned or logged), the job queued in the same transaction, cancel and
// retry state changes, the typed error for an unreachable source, and the subscription's throttle.
// The copying itself is proven against real Dovecot instances in e2e/mailstack/migration.test.ts.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { decryptSecret } from '../../core/src/crypto/secretbox.js';
import { config } from '../../core/src/env.js';
import { createMailbox, createTenant, sql, startTestApp } from '../../test/harness.js';
import { throttledMigrationEvents } from '../src/schema/migration.js';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } ... on NotFoundError { entity }`;
const START = `mutation($m:ID!,$s:ImapSourceInput!){ r: startMigration(mailboxId:$m, source:$s){ __typename
  ... on MutationStartMigrationSuccess { migration { id status phase runs source { host port security username } mailbox { id } createdBy { type label } error { code message } } }
  ... on TargetOverQuotaError { code } ${ERR} } }`;
const CANCEL = `mutation($id:ID!){ r: cancelMigration(id:$id){ __typename ... on MutationCancelMigrationSuccess { migration { id status phase cancelRequested finishedAt } } ${ERR} } }`;
const RETRY = `mutation($id:ID!,$p:String!){ r: retryMigration(id:$id, password:$p){ __typename ... on MutationRetryMigrationSuccess { migration { id status runs finishedAt } } ${ERR} } }`;
const TEST = `mutation($s:ImapSourceInput!,$m:ID){ r: testImapConnection(source:$s, mailboxId:$m){ __typename
  ... on MutationTestImapConnectionSuccess { result { totalMessages } }
  ... on SourceUnreachableError { code } ... on SourceTlsError { code } ... on SourceAuthenticationError { code } ${ERR} } }`;
const LIST = `query($f:MigrationFilter){ migrations(first:50, filter:$f){ totalCount edges { node { id status mailbox { address } } } } }`;

const SECRET = 'Src-Pa$$word-7731';

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('migrations API', async () => {
  const t = await startTestApp();
  const A = await createTenant(t, {}, 'mig-a');
  const B = await createTenant(t, {}, 'mig-b');
  const a1 = await createMailbox(t, A.token, 'alice', A.domain, 'alice-pass-1', 50);
  const a2 = await createMailbox(t, A.token, 'anna', A.domain);
  const b1 = await createMailbox(t, B.token, 'bert', B.domain);
  const owner = await t.login(a1.address, 'alice-pass-1');
  const port = await closedPort();
  const src = (over: Record<string, unknown> = {}) => ({ host: '127.0.0.1', port, security: 'NONE', username: 'old@legacy.test', password: SECRET, ...over });

  it('startMigration stores the source (password encrypted), queues the job in the same transaction, audits', async () => {
    const r = (await t.ok(START, { m: a2.id, s: src() }, A.token)).r;
    expect(r.__typename).toBe('MutationStartMigrationSuccess');
    const m = r.migration;
    expect(m).toMatchObject({ status: 'QUEUED', phase: 'WAITING', runs: 1, source: { host: '127.0.0.1', port, security: 'NONE', username: 'old@legacy.test' }, mailbox: { id: a2.id }, createdBy: { type: 'USER', label: A.email }, error: null });
    const id = decodeGlobalID(m.id).id;
    const [row] = await sql(`SELECT source_password_enc FROM migrations WHERE id = $1`, [id]);
    expect(row.source_password_enc).not.toContain(SECRET);
    expect(decryptSecret(row.source_password_enc, config().encryptionKey)).toBe(SECRET);
    const jobs = await sql(`SELECT name, data FROM pgboss.job WHERE name = 'migrate-mailbox' AND data->>'migrationId' = $1`, [id]);
    expect(jobs).toHaveLength(1);
    const audit = await t.ok(`{ auditEvents(filter:{action:"migration.start"}){ edges { node { targetLabel details } } } }`, {}, A.token);
    expect(audit.auditEvents.edges[0].node).toMatchObject({ targetLabel: a2.address, details: { host: '127.0.0.1', port, username: 'old@legacy.test', security: 'NONE' } });
    // The password is nowhere in what the API or the audit log gives back.
    const everything = JSON.stringify([r, audit, await t.ok(`query($id:ID!){ node(id:$id){ ... on Migration { source { host username } } } }`, { id: m.id }, A.token)]);
    expect(everything).not.toContain(SECRET);
  });

  it('one migration at a time per mailbox', async () => {
    const r = (await t.ok(START, { m: a2.id, s: src() }, A.token)).r;
    expect(r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'mailboxId', code: 'MIGRATION_RUNNING' }] });
  });

  it('validation: every bad field at once, typed', async () => {
    const r = (await t.ok(START, { m: a1.id, s: { host: 'not a host', port: 70000, security: 'SSL', username: ' ', password: '' } }, A.token)).r;
    expect(r.__typename).toBe('ValidationError');
    expect(r.fieldErrors.map((e: any) => `${e.field}:${e.code}`).sort()).toEqual(['source.host:INVALID', 'source.password:REQUIRED', 'source.port:INVALID', 'source.username:REQUIRED']);
    const ctl = (await t.ok(START, { m: a1.id, s: src({ username: 'a\nb', password: 'x\ry' }) }, A.token)).r;
    expect(ctl.fieldErrors.map((e: any) => `${e.field}:${e.code}`).sort()).toEqual(['source.password:INVALID', 'source.username:INVALID']);
    // A lone UTF-16 surrogate is not a character any server or database can take.
    const broken = (await t.ok(START, { m: a1.id, s: src({ username: 'x\ud800y', password: '\udc00' }) }, A.token)).r;
    expect(broken.fieldErrors.map((e: any) => `${e.field}:${e.code}`).sort()).toEqual(['source.password:INVALID', 'source.username:INVALID']);
  });

  it('the default port follows the security: 993 for SSL, 143 otherwise', async () => {
    const m3 = await createMailbox(t, A.token, 'ports', A.domain);
    const r = (await t.ok(START, { m: m3.id, s: { host: 'imap.example.com', username: 'u', password: 'p', security: 'SSL' } }, A.token)).r;
    expect(r.migration.source).toMatchObject({ port: 993, security: 'SSL' });
    await t.ok(CANCEL, { id: r.migration.id }, A.token);
    const s = (await t.ok(START, { m: m3.id, s: { host: 'imap.example.com', username: 'u', password: 'p', security: 'STARTTLS' } }, A.token)).r;
    expect(s.migration.source).toMatchObject({ port: 143, security: 'STARTTLS' });
    await t.ok(CANCEL, { id: s.migration.id }, A.token);
  });

  it('a full mailbox cannot start a migration (TargetOverQuotaError)', async () => {
    await sql(`UPDATE mailboxes SET quota_used_bytes = $1 WHERE id = $2`, [50 * 1024 * 1024, decodeGlobalID(a1.id).id]);
    const r = (await t.ok(START, { m: a1.id, s: src() }, owner)).r;
    expect(r).toMatchObject({ __typename: 'TargetOverQuotaError', code: 'TARGET_OVER_QUOTA', message: expect.stringMatching(/full/) });
    await sql(`UPDATE mailboxes SET quota_used_bytes = 0 WHERE id = $1`, [decodeGlobalID(a1.id).id]);
  });

  it('tenancy: mailbox owners migrate into their own mailbox only; customers see their own migrations; admins all', async () => {
    const own = (await t.ok(START, { m: a1.id, s: src() }, owner)).r;
    expect(own.migration.createdBy).toEqual({ type: 'MAILBOX', label: a1.address });
    const other = (await t.ok(START, { m: a2.id, s: src() }, owner)).r;
    expect(other).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' });
    const foreign = (await t.ok(START, { m: a1.id, s: src() }, B.token)).r;
    expect(foreign).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' });
    const bm = (await t.ok(START, { m: b1.id, s: src() }, B.token)).r.migration;

    const addresses = async (token: string, f: object = {}) => (await t.ok(LIST, { f }, token)).migrations.edges.map((e: any) => e.node.mailbox.address).sort();
    expect(await addresses(owner)).toEqual([a1.address]);
    expect((await addresses(A.token)).every((x: string) => x.endsWith(A.domain))).toBe(true);
    expect(await addresses(B.token)).toEqual([b1.address]);
    expect(await addresses(t.adminToken)).toEqual(expect.arrayContaining([a1.address, a2.address, b1.address]));
    expect(await addresses(A.token, { mailboxId: a1.id })).toEqual([a1.address]);
    expect(await addresses(A.token, { mailboxId: b1.id })).toEqual([]);
    expect(await addresses(t.adminToken, { mailboxId: b1.id, status: ['QUEUED'] })).toEqual([b1.address]);
    // node(), cancel and retry of another tenant's migration: not found.
    expect((await t.gql(`query($id:ID!){ node(id:$id){ id } }`, { id: bm.id }, A.token)).data.node).toBeNull();
    expect((await t.ok(CANCEL, { id: bm.id }, A.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Migration' });
    expect((await t.ok(CANCEL, { id: bm.id }, owner)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Migration' });
    expect((await t.ok(RETRY, { id: bm.id, p: 'x' }, A.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Migration' });
    await t.ok(CANCEL, { id: own.migration.id }, owner);
    await t.ok(CANCEL, { id: bm.id }, B.token);
  });

  it('cancel a queued migration: CANCELLED at once, password wiped; a second cancel is refused; retry needs the password again', async () => {
    const m4 = await createMailbox(t, A.token, 'cancelme', A.domain);
    const m = (await t.ok(START, { m: m4.id, s: src() }, A.token)).r.migration;
    const c = (await t.ok(CANCEL, { id: m.id }, A.token)).r;
    expect(c.migration).toMatchObject({ status: 'CANCELLED', phase: 'FINISHED', cancelRequested: false, finishedAt: expect.any(String) });
    const [row] = await sql(`SELECT source_password_enc FROM migrations WHERE id = $1`, [decodeGlobalID(m.id).id]);
    expect(row.source_password_enc).toBeNull();
    expect((await t.ok(CANCEL, { id: m.id }, A.token)).r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'id', code: 'NOT_RUNNING' }] });

    const r = (await t.ok(RETRY, { id: m.id, p: 'new-secret-9' }, A.token)).r;
    expect(r.migration).toMatchObject({ status: 'QUEUED', runs: 2, finishedAt: null });
    const [again] = await sql(`SELECT source_password_enc FROM migrations WHERE id = $1`, [decodeGlobalID(m.id).id]);
    expect(decryptSecret(again.source_password_enc, config().encryptionKey)).toBe('new-secret-9');
    expect((await t.ok(RETRY, { id: m.id, p: 'x' }, A.token)).r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'mailboxId', code: 'MIGRATION_RUNNING' }] });
    const actions = (await t.ok(`{ auditEvents(filter:{search:"cancelme"}){ edges { node { action } } } }`, {}, A.token)).auditEvents.edges.map((e: any) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(['migration.start', 'migration.cancel', 'migration.retry']));
  });

  it('a running migration with a live worker is asked to stop (cancelRequested); the worker ends it', async () => {
    const m5 = await createMailbox(t, A.token, 'running', A.domain);
    const m = (await t.ok(START, { m: m5.id, s: src() }, A.token)).r.migration;
    await sql(`UPDATE migrations SET status = 'RUNNING', lease_id = gen_random_uuid(), heartbeat_at = now() WHERE id = $1`, [decodeGlobalID(m.id).id]);
    const c = (await t.ok(CANCEL, { id: m.id }, A.token)).r;
    expect(c.migration).toMatchObject({ status: 'RUNNING', cancelRequested: true, finishedAt: null });
    // A lease nobody renews: cancelling ends it at once.
    await sql(`UPDATE migrations SET heartbeat_at = now() - interval '1 hour' WHERE id = $1`, [decodeGlobalID(m.id).id]);
    expect((await t.ok(CANCEL, { id: m.id }, A.token)).r.migration).toMatchObject({ status: 'CANCELLED' });
  });

  it('testImapConnection: an unreachable source is a typed SourceUnreachableError, audited, without the password', async () => {
    const r = (await t.ok(TEST, { s: src(), m: a1.id }, owner)).r;
    expect(r).toMatchObject({ __typename: 'SourceUnreachableError', code: 'HOST_UNREACHABLE', message: expect.stringMatching(/refused/) });
    expect(JSON.stringify(r)).not.toContain(SECRET);
    const ev = (await t.ok(`{ auditEvents(filter:{action:"migration.test"}){ edges { node { actorLabel details } } } }`, {}, t.adminToken)).auditEvents.edges;
    expect(ev[0].node).toMatchObject({ actorLabel: a1.address, details: { host: '127.0.0.1', outcome: 'HOST_UNREACHABLE' } });
    expect(JSON.stringify(ev)).not.toContain(SECRET);
    expect((await t.ok(TEST, { s: src(), m: b1.id }, A.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Mailbox' });
    expect((await t.ok(TEST, { s: src({ host: '' }) }, A.token)).r).toMatchObject({ __typename: 'ValidationError' });
  });

  it('unauthenticated callers and read-only tokens are refused', async () => {
    const anon = await t.gql(START, { m: a1.id, s: src() });
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const ro = (await t.ok(`mutation{ createApiToken(name:"ro-mig", scope:READ_ONLY){ ... on MutationCreateApiTokenSuccess { created { token } } } }`, {}, A.token)).createApiToken.created.token;
    for (const [doc, vars] of [
      [START, { m: a1.id, s: src() }],
      [TEST, { s: src() }],
    ] as const)
      expect((await t.gql(doc, vars, ro)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.ok(LIST, {}, ro)).migrations.totalCount).toBeGreaterThan(0);
    const sub = await t.gql(`subscription($id:ID!){ migrationProgress(id:$id){ id } }`, { id: a1.id });
    expect(sub.errors?.length).toBeGreaterThan(0);
  });

  it('per-folder overrides: stored with the migration; bad names and two folders into one are refused next to the field, nothing written', async () => {
    const START_F = `mutation($m:ID!,$s:ImapSourceInput!,$f:[MigrationFolderOverride!]){ r: startMigration(mailboxId:$m, source:$s, folders:$f){ __typename ... on MutationStartMigrationSuccess { migration { id } } ${ERR} } }`;
    const olga = await createMailbox(t, A.token, 'olga', A.domain);
    const before = (await sql(`SELECT count(*)::int AS n FROM migrations`))[0].n;
    const bad = (await t.ok(START_F, { m: olga.id, s: src(), f: [{ sourceName: 'Alt', targetName: 'a//b' }, { sourceName: 'X', targetName: 'Archiv' }, { sourceName: 'Y', targetName: 'Archiv' }] }, A.token)).r;
    expect(bad.__typename).toBe('ValidationError');
    expect(bad.fieldErrors.map((e: any) => `${e.field}:${e.code}`).sort()).toEqual(['folders.0.targetName:INVALID', 'folders.2.targetName:DUPLICATE']);
    expect((await sql(`SELECT count(*)::int AS n FROM migrations`))[0].n).toBe(before);
    const ok = (await t.ok(START_F, { m: olga.id, s: src(), f: [{ sourceName: 'Alt', targetName: ' Archiv/alt ' }] }, A.token)).r;
    expect(ok.__typename).toBe('MutationStartMigrationSuccess');
    const [row] = await sql(`SELECT folder_overrides FROM migrations WHERE id = $1`, [decodeGlobalID(ok.migration.id).id]);
    expect(row.folder_overrides).toEqual([{ sourceName: 'Alt', targetName: 'Archiv/alt' }]);
    await t.ok(CANCEL, { id: ok.migration.id }, A.token);
  });

  it('api/ imports nothing from worker/: the logic both need lives in core/', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const files = (await readdir(new URL('../src', import.meta.url), { recursive: true })).filter((f) => String(f).endsWith('.ts'));
    const offenders: string[] = [];
    for (const f of files) if (/from '(@mailpanel\/worker|(\.\.\/)+worker\/)/.test(await readFile(new URL(`../src/${f}`, import.meta.url), 'utf8'))) offenders.push(String(f));
    expect(files.length).toBeGreaterThan(10);
    expect(offenders).toEqual([]);
  });
});

describe('migrationProgress throttle', () => {
  function feed() {
    const queue: { id: string; status: string }[] = [];
    let wake: (() => void) | null = null;
    let closed = false;
    const iterable: AsyncIterable<{ id: string; status: string }> = {
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          while (!queue.length && !closed) await new Promise<void>((r) => (wake = r));
          return queue.length ? { value: queue.shift()!, done: false } : { value: undefined, done: true };
        },
        return: async () => {
          closed = true;
          wake?.();
          return { value: undefined, done: true };
        },
      }),
    };
    return {
      iterable,
      push(status: string) {
        queue.push({ id: 'm', status });
        wake?.();
      },
    };
  }

  it('sends the current state first, collapses bursts to a few per second, always delivers the final state and ends', async () => {
    const f = feed();
    const got: { status: string; at: number }[] = [];
    const start = Date.now();
    const consumer = (async () => {
      for await (const e of throttledMigrationEvents(f.iterable, { id: 'm', status: 'QUEUED' }, 100)) got.push({ status: e.status, at: Date.now() - start });
    })();
    for (let i = 0; i < 50; i++) {
      f.push('RUNNING');
      await new Promise((r) => setTimeout(r, 10));
    }
    f.push('SUCCEEDED');
    await consumer;
    expect(got[0]!.status).toBe('QUEUED');
    expect(got.at(-1)!.status).toBe('SUCCEEDED');
    const running = got.filter((g) => g.status === 'RUNNING');
    // ~500 ms of events at 100 ms spacing: about 5, never one per event.
    expect(running.length).toBeGreaterThanOrEqual(3);
    expect(running.length).toBeLessThanOrEqual(8);
    for (let i = 2; i < got.length - 1; i++) expect(got[i]!.at - got[i - 1]!.at).toBeGreaterThanOrEqual(90);
  });

  it('a migration that already ended: one event, then the stream ends', async () => {
    const f = feed();
    const out: string[] = [];
    for await (const e of throttledMigrationEvents(f.iterable, { id: 'm', status: 'FAILED' })) out.push(e.status);
    expect(out).toEqual(['FAILED']);
  });
});
