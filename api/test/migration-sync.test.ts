// Keep-in-sync migrations, the API side (no worker, no mail server): the `sync` input and its
// validation, what a SYNCING migration shows, finishMigration's rules (who, when, what it enqueues),
// cancel while syncing (password erased), one active migration per mailbox. The copying itself —
// first copy, incremental syncs, finish — runs against real Dovecot in e2e/mailstack/migration-sync.test.ts.
import { describe, expect, it } from 'vitest';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { createMailbox, createTenant, sql, startTestApp } from '../../test/harness.js';
import { runMigration } from '../../worker/src/migration/run-migration.js';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } ... on NotFoundError { entity }`;
const SYNC_FIELDS = `sync { intervalMinutes count lastSyncAt lastSyncMessages lastSyncBytes nextSyncAt finishRequested }`;
const START = `mutation($m:ID!,$s:ImapSourceInput!,$y:MigrationSyncInput){ r: startMigration(mailboxId:$m, source:$s, sync:$y){ __typename
  ... on MutationStartMigrationSuccess { migration { id status phase ${SYNC_FIELDS} } } ${ERR} } }`;
const FINISH = `mutation($id:ID!){ r: finishMigration(id:$id){ __typename ... on MutationFinishMigrationSuccess { migration { id status phase ${SYNC_FIELDS} } } ${ERR} } }`;
const CANCEL = `mutation($id:ID!){ r: cancelMigration(id:$id){ __typename ... on MutationCancelMigrationSuccess { migration { id status phase ${SYNC_FIELDS} } } ${ERR} } }`;
const NODE = `query($id:ID!){ node(id:$id){ ... on Migration { status phase ${SYNC_FIELDS} } } }`;

const SECRET = 'Sync-Src-Pa$$-4410';
const src = { host: '127.0.0.1', port: 9, security: 'NONE', username: 'old@legacy.test', password: SECRET };
const rowId = (gid: string) => decodeGlobalID(gid).id;
const jobsOf = async (id: string) => (await sql(`SELECT id FROM pgboss.job WHERE name = 'migrate-mailbox' AND data->>'migrationId' = $1`, [id])).length;

/** What the worker leaves after a sync: SYNCING, phase IDLE, no lease, the next sync due later. */
async function makeIdle(id: string, over: Record<string, unknown> = {}) {
  const v = { sync_count: 2, last_sync_messages: 3, last_sync_bytes: 4096, ...over };
  await sql(
    `UPDATE migrations SET status = 'SYNCING', phase = 'IDLE', lease_id = NULL, heartbeat_at = now() - interval '1 hour', attempts = 0,
       sync_count = $2, last_sync_at = now(), last_sync_messages = $3, last_sync_bytes = $4, next_sync_at = now() + interval '15 minutes'
     WHERE id = $1`,
    [rowId(id), v.sync_count, v.last_sync_messages, v.last_sync_bytes],
  );
}

describe('keep-in-sync migrations API', async () => {
  const t = await startTestApp();
  const A = await createTenant(t, {}, 'sync-a');
  const B = await createTenant(t, {}, 'sync-b');
  const a1 = await createMailbox(t, A.token, 'sally', A.domain, 'sally-pass-1');
  const a2 = await createMailbox(t, A.token, 'sam', A.domain);
  const a3 = await createMailbox(t, A.token, 'sid', A.domain);
  const b1 = await createMailbox(t, B.token, 'sue', B.domain);
  const owner = await t.login(a1.address, 'sally-pass-1');

  it('startMigration with sync: the interval is stored (default 15), the API shows sync mode; without it, sync is null', async () => {
    const d = (await t.ok(START, { m: a2.id, s: src, y: {} }, A.token)).r;
    expect(d.__typename).toBe('MutationStartMigrationSuccess');
    expect(d.migration).toMatchObject({ status: 'QUEUED', sync: { intervalMinutes: 15, count: 0, lastSyncAt: null, lastSyncMessages: null, nextSyncAt: null, finishRequested: false } });
    const [row] = await sql(`SELECT sync_interval_minutes FROM migrations WHERE id = $1`, [rowId(d.migration.id)]);
    expect(row.sync_interval_minutes).toBe(15);
    const audit = await t.ok(`{ auditEvents(filter:{action:"migration.start"}){ edges { node { details } } } }`, {}, A.token);
    expect(audit.auditEvents.edges[0].node.details).toMatchObject({ migrationId: rowId(d.migration.id), syncIntervalMinutes: 15 });
    await t.ok(CANCEL, { id: d.migration.id }, A.token);

    const custom = (await t.ok(START, { m: a2.id, s: src, y: { intervalMinutes: 60 } }, A.token)).r;
    expect(custom.migration.sync.intervalMinutes).toBe(60);
    await t.ok(CANCEL, { id: custom.migration.id }, A.token);

    const once = (await t.ok(START, { m: a2.id, s: src }, A.token)).r;
    expect(once.migration.sync).toBeNull();
    await t.ok(CANCEL, { id: once.migration.id }, A.token);
  });

  it('validation: the interval must be 5..1440 whole minutes — a typed error on sync.intervalMinutes, nothing written', async () => {
    const before = (await sql(`SELECT count(*)::int AS n FROM migrations`))[0].n;
    for (const bad of [4, 0, -15, 1441, 100000]) {
      const r = (await t.ok(START, { m: a3.id, s: src, y: { intervalMinutes: bad } }, A.token)).r;
      expect(r, String(bad)).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'sync.intervalMinutes', code: 'OUT_OF_RANGE', message: expect.stringMatching(/5 and 1440/) }] });
    }
    expect((await sql(`SELECT count(*)::int AS n FROM migrations`))[0].n).toBe(before);
    // The edges are allowed.
    for (const ok of [5, 1440]) {
      const r = (await t.ok(START, { m: a3.id, s: src, y: { intervalMinutes: ok } }, A.token)).r;
      expect(r.migration.sync.intervalMinutes).toBe(ok);
      await t.ok(CANCEL, { id: r.migration.id }, A.token);
    }
  });

  it('a SYNCING migration shows the last sync, what it copied and the next; it still blocks a second migration into the mailbox', async () => {
    const m = (await t.ok(START, { m: a3.id, s: src, y: { intervalMinutes: 30 } }, A.token)).r.migration;
    await makeIdle(m.id, { sync_count: 4, last_sync_messages: 7, last_sync_bytes: 123456 });
    const n = (await t.ok(NODE, { id: m.id }, A.token)).node;
    expect(n).toMatchObject({ status: 'SYNCING', phase: 'IDLE', sync: { intervalMinutes: 30, count: 4, lastSyncMessages: 7, lastSyncBytes: 123456, finishRequested: false } });
    expect(Date.parse(n.sync.nextSyncAt) - Date.now()).toBeGreaterThan(14 * 60_000);
    expect(Math.abs(Date.parse(n.sync.lastSyncAt) - Date.now())).toBeLessThan(60_000);
    const second = (await t.ok(START, { m: a3.id, s: src }, A.token)).r;
    expect(second).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'mailboxId', code: 'MIGRATION_RUNNING' }] });
    // Listed among the active ones by its status.
    const list = await t.ok(`{ migrations(first:50, filter:{status:[SYNCING]}){ edges { node { id } } } }`, {}, A.token);
    expect(list.migrations.edges.map((e: any) => e.node.id)).toContain(m.id);
    await t.ok(CANCEL, { id: m.id }, A.token);
  });

  it('finishMigration while idle: finish requested, the last sync enqueued at once, audited; a second request is refused', async () => {
    const m = (await t.ok(START, { m: a3.id, s: src, y: {} }, A.token)).r.migration;
    await makeIdle(m.id);
    const jobsBefore = await jobsOf(rowId(m.id));
    const d = (await t.ok(FINISH, { id: m.id }, A.token)).r;
    expect(d.__typename).toBe('MutationFinishMigrationSuccess');
    expect(d.migration).toMatchObject({ status: 'SYNCING', sync: { finishRequested: true } });
    // Due now, not in 15 minutes.
    expect(Math.abs(Date.parse(d.migration.sync.nextSyncAt) - Date.now())).toBeLessThan(60_000);
    expect(await jobsOf(rowId(m.id))).toBe(jobsBefore + 1);
    const [job] = await sql(`SELECT start_after FROM pgboss.job WHERE name = 'migrate-mailbox' AND data->>'migrationId' = $1 ORDER BY created_on DESC LIMIT 1`, [rowId(m.id)]);
    expect(new Date(job.start_after).getTime()).toBeLessThanOrEqual(Date.now() + 1000);
    const audit = await t.ok(`{ auditEvents(filter:{action:"migration.finish"}){ edges { node { targetLabel details } } } }`, {}, A.token);
    expect(audit.auditEvents.edges[0].node).toMatchObject({ targetLabel: a3.address, details: { migrationId: rowId(m.id), syncs: 2 } });
    const again = (await t.ok(FINISH, { id: m.id }, A.token)).r;
    expect(again).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'id', code: 'ALREADY_FINISHING' }] });
    expect(await jobsOf(rowId(m.id))).toBe(jobsBefore + 1);
    await t.ok(CANCEL, { id: m.id }, A.token);
  });

  it('finishMigration during a sync (live lease): only the request is recorded — the runner schedules the last sync when it ends', async () => {
    const m = (await t.ok(START, { m: a3.id, s: src, y: {} }, A.token)).r.migration;
    await sql(`UPDATE migrations SET status = 'SYNCING', phase = 'COPYING', lease_id = gen_random_uuid(), heartbeat_at = now() WHERE id = $1`, [rowId(m.id)]);
    const jobsBefore = await jobsOf(rowId(m.id));
    const d = (await t.ok(FINISH, { id: m.id }, A.token)).r;
    expect(d.migration).toMatchObject({ status: 'SYNCING', phase: 'COPYING', sync: { finishRequested: true } });
    expect(await jobsOf(rowId(m.id))).toBe(jobsBefore);
    // Cancel still works: with a live runner it asks it to stop.
    const c = (await t.ok(CANCEL, { id: m.id }, A.token)).r;
    expect(c.__typename).toBe('MutationCancelMigrationSuccess');
    const [row] = await sql(`SELECT cancel_requested FROM migrations WHERE id = $1`, [rowId(m.id)]);
    expect(row.cancel_requested).toBe(true);
    await sql(`UPDATE migrations SET status = 'CANCELLED', phase = 'FINISHED', lease_id = NULL, source_password_enc = NULL WHERE id = $1`, [rowId(m.id)]);
  });

  it('finishMigration is refused for a one-time migration and for one that has ended', async () => {
    const once = (await t.ok(START, { m: a3.id, s: src }, A.token)).r.migration;
    expect((await t.ok(FINISH, { id: once.id }, A.token)).r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'id', code: 'NOT_SYNC_MODE' }] });
    await t.ok(CANCEL, { id: once.id }, A.token);
    const synced = (await t.ok(START, { m: a3.id, s: src, y: {} }, A.token)).r.migration;
    await t.ok(CANCEL, { id: synced.id }, A.token);
    expect((await t.ok(FINISH, { id: synced.id }, A.token)).r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'id', code: 'NOT_RUNNING' }] });
  });

  it('cancel while idle ends it at once: CANCELLED, the stored password and the next sync cleared', async () => {
    const m = (await t.ok(START, { m: a3.id, s: src, y: {} }, A.token)).r.migration;
    await makeIdle(m.id);
    const [before] = await sql(`SELECT source_password_enc FROM migrations WHERE id = $1`, [rowId(m.id)]);
    expect(before.source_password_enc).toBeTruthy();
    const c = (await t.ok(CANCEL, { id: m.id }, A.token)).r.migration;
    expect(c).toMatchObject({ status: 'CANCELLED', phase: 'FINISHED', sync: { nextSyncAt: null, count: 2 } });
    const [row] = await sql(`SELECT source_password_enc, next_sync_at FROM migrations WHERE id = $1`, [rowId(m.id)]);
    expect(row).toEqual({ source_password_enc: null, next_sync_at: null });
  });

  it('authorization: the mailbox owner finishes their own; another tenant gets NotFound; anonymous and read-only tokens are refused; nothing leaks the password', async () => {
    const mine = (await t.ok(START, { m: a1.id, s: src, y: {} }, owner)).r.migration;
    const theirs = (await t.ok(START, { m: b1.id, s: src, y: {} }, B.token)).r.migration;
    await makeIdle(mine.id);
    await makeIdle(theirs.id);
    expect((await t.ok(FINISH, { id: theirs.id }, A.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Migration' });
    expect((await t.ok(FINISH, { id: theirs.id }, owner)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'Migration' });
    expect((await t.ok(NODE, { id: theirs.id }, B.token)).node.sync.finishRequested).toBe(false);
    const anon = await t.gql(FINISH, { id: mine.id });
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const ro = (await t.ok(`mutation{ r: createApiToken(name:"sync-ro", scope:READ_ONLY){ ... on MutationCreateApiTokenSuccess { created { token } } } }`, {}, A.token)).r.created.token;
    const refused = await t.gql(FINISH, { id: mine.id }, ro);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const d = (await t.ok(FINISH, { id: mine.id }, owner)).r;
    expect(d.migration.sync.finishRequested).toBe(true);
    expect(JSON.stringify(d)).not.toContain(SECRET);
    await t.ok(CANCEL, { id: mine.id }, owner);
    await t.ok(CANCEL, { id: theirs.id }, B.token);
  });
  it('a sync whose mailbox was deleted (grace period) copies nothing: FAILED with TARGET_ERROR, password erased', async () => {
    const gone = await createMailbox(t, A.token, 'sven', A.domain);
    const m = (await t.ok(START, { m: gone.id, s: src, y: {} }, A.token)).r.migration;
    await makeIdle(m.id);
    await sql(`UPDATE migrations SET next_sync_at = now() WHERE id = $1`, [rowId(m.id)]);
    await sql(`UPDATE mailboxes SET deleted_at = now(), purge_at = now() + interval '30 days' WHERE id = $1`, [rowId(gone.id)]);
    expect(await runMigration(rowId(m.id), { scheduleRetry: async () => {} })).toBe('finished');
    const [row] = await sql(`SELECT status, error_code, source_password_enc FROM migrations WHERE id = $1`, [rowId(m.id)]);
    expect(row).toEqual({ status: 'FAILED', error_code: 'TARGET_ERROR', source_password_enc: null });
  });
});
