// Bulk migration (issue 16) without a mail server: the CSV's rows checked with the single
// startMigration's rules (dry run: per-row results; real run: all rows or none), authorization and
// tenancy, passwords only encrypted and never in an answer, cancel/retry of the whole bulk, and the
// per-host / global concurrency gate in PostgreSQL with several workers admitting at once.
// The copying from three real source servers (one dead) is in e2e/mailstack/bulk-migration.test.ts.
import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/free-port.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { decryptSecret } from '../../core/src/crypto/secretbox.js';
import { config } from '../../core/src/env.js';
import { createMailbox, createTenant, sql, startTestApp, waitFor } from '../../test/harness.js';
import { enterGate, leaveGate, pickAdmissions } from '../../worker/src/migration/gate.js';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } } ... on NotFoundError { entity }`;
const START = `mutation($i:StartBulkMigrationInput!){ r: startBulkMigration(input:$i){ __typename
  ... on MutationStartBulkMigrationSuccess { result { dryRun valid invalid rows { line address host port security username ok errors { field code message } }
    bulkMigration { id name rows createdBy summary { total queued waiting running failed cancelled } migrations(first: 50) { totalCount edges { node { id status mailbox { address } source { host port security username } bulkMigration { id } } } } } } }
  ${ERR} } }`;
const CANCEL = `mutation($id:ID!){ r: cancelBulkMigration(id:$id){ __typename ... on MutationCancelBulkMigrationSuccess { bulkMigration { id summary { total cancelled queued } } } ${ERR} } }`;
const RETRY = `mutation($id:ID!,$csv:String!){ r: retryBulkMigration(id:$id, csv:$csv){ __typename ... on MutationRetryBulkMigrationSuccess { bulkMigration { id summary { total queued cancelled } } } ${ERR} } }`;
const LIST = `{ bulkMigrations(first: 20) { totalCount edges { node { id name rows } } } }`;

const SECRET = 'Bulk-Src-Pa$$word-4417';
const HEADER = 'address,host,port,security,username,password';

const uuid = (globalId: string) => decodeGlobalID(globalId).id;
const codes = (errors: { field: string; code: string }[]) => errors.map((e) => `${e.field}:${e.code}`).sort();

describe('bulk migration API', async () => {
  const t = await startTestApp({ listen: true });
  const A = await createTenant(t, {}, 'bulk-a');
  const B = await createTenant(t, {}, 'bulk-b');
  const a1 = await createMailbox(t, A.token, 'ann', A.domain, 'ann-pass-12345');
  const a2 = await createMailbox(t, A.token, 'ben', A.domain);
  const a3 = await createMailbox(t, A.token, 'cid', A.domain);
  const b1 = await createMailbox(t, B.token, 'dora', B.domain);
  const port = await freePort();
  const migrationsOf = async (mailboxId: string) => (await sql(`SELECT count(*)::int AS n FROM migrations WHERE mailbox_id = $1`, [uuid(mailboxId)]))[0].n;

  it('a dry run checks every row with the single-migration rules and starts nothing', async () => {
    const csv = [
      HEADER,
      `${a1.address},127.0.0.1,${port},NONE,old-ann,${SECRET}`,
      `${a2.address},not a host,70000,TLS, ,`,
      `${b1.address},127.0.0.1,${port},NONE,old-dora,${SECRET}`,
      `nobody@${A.domain},127.0.0.1,,,u,${SECRET}`,
      `${a1.address.toUpperCase()},127.0.0.1,,SSL,again,${SECRET}`,
      `not-an-address,imap.example.com,,,u,"pa,ss"`,
    ].join('\n');
    const r = (await t.ok(START, { i: { csv, dryRun: true } }, A.token)).r;
    expect(r.__typename).toBe('MutationStartBulkMigrationSuccess');
    expect(r.result).toMatchObject({ dryRun: true, valid: 1, invalid: 5, bulkMigration: null });
    const byLine = Object.fromEntries(r.result.rows.map((x: any) => [x.line, x]));
    expect(byLine[2]).toMatchObject({ ok: true, address: a1.address, host: '127.0.0.1', port, security: 'NONE', username: 'old-ann', errors: [] });
    expect(codes(byLine[3].errors)).toEqual(['host:INVALID', 'password:REQUIRED', 'security:INVALID', 'username:REQUIRED', 'port:INVALID'].sort());
    // Another tenant's mailbox reads as not found, exactly like a mailbox that does not exist.
    expect(codes(byLine[4].errors)).toEqual(['address:NOT_FOUND']);
    expect(codes(byLine[5].errors)).toEqual(['address:NOT_FOUND']);
    expect(codes(byLine[6].errors)).toEqual(['address:DUPLICATE']);
    expect(byLine[6].errors[0].message).toMatch(/line 2/);
    expect(byLine[6]).toMatchObject({ port: 993, security: 'SSL' });
    expect(codes(byLine[7].errors)).toEqual(['address:INVALID']);
    expect(JSON.stringify(r)).not.toContain(SECRET);
    expect(JSON.stringify(r)).not.toContain('pa,ss');
    expect(await migrationsOf(a1.id)).toBe(0);
  });

  it('the file itself: unknown or missing columns, no rows, broken quotes — typed errors on csv', async () => {
    const bad = async (csv: string) => (await t.ok(START, { i: { csv, dryRun: true } }, A.token)).r;
    expect(await bad('address,host,username')).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'csv', code: 'MISSING_COLUMN' }] });
    expect((await bad(`${HEADER},notes\n`)).fieldErrors.map((e: any) => e.code)).toContain('UNKNOWN_COLUMN');
    expect(await bad(`${HEADER}\n`)).toMatchObject({ fieldErrors: [{ field: 'csv', code: 'EMPTY' }] });
    expect(await bad(`${HEADER}\n"${a1.address},h,1,NONE,u,p\n`)).toMatchObject({ fieldErrors: [{ field: 'csv', code: 'UNREADABLE' }] });
  });

  it('a real run with any bad row starts nothing and names each problem by line and column', async () => {
    const csv = [HEADER, `${a1.address},127.0.0.1,${port},NONE,old-ann,${SECRET}`, `${a2.address},127.0.0.1,0,NONE,old-ben,${SECRET}`].join('\n');
    const r = (await t.ok(START, { i: { csv } }, A.token)).r;
    expect(r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'rows.3.port', code: 'INVALID' }] });
    expect(await migrationsOf(a1.id)).toBe(0);
    expect((await sql(`SELECT count(*)::int AS n FROM bulk_migrations`))[0].n).toBe(0);
  });

  let bulkId = '';
  it('a real run creates one migration per row, grouped, passwords encrypted, jobs queued, audited; the password is in no answer', async () => {
    const csv = [HEADER, `${a1.address},127.0.0.1,${port},NONE,old-ann,${SECRET}`, `${a2.address},127.0.0.1,${port},none,old-ben,${SECRET}2`, `${a3.address},localhost,,,old-cid,${SECRET}3`].join('\r\n');
    const r = (await t.ok(START, { i: { csv, name: 'legacy.csv' } }, A.token)).r;
    expect(r.__typename).toBe('MutationStartBulkMigrationSuccess');
    const bulk = r.result.bulkMigration;
    bulkId = bulk.id;
    expect(bulk).toMatchObject({ name: 'legacy.csv', rows: 3, createdBy: A.email, summary: { total: 3, queued: 3, running: 0 } });
    const nodes = bulk.migrations.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.mailbox.address)).toEqual([a1.address, a2.address, a3.address]);
    expect(nodes.every((n: any) => n.status === 'QUEUED' && n.bulkMigration.id === bulk.id)).toBe(true);
    expect(nodes[2].source).toEqual({ host: 'localhost', port: 993, security: 'SSL', username: 'old-cid' });
    const rows = await sql(`SELECT id, source_password_enc FROM migrations WHERE bulk_migration_id = $1 ORDER BY created_at`, [uuid(bulk.id)]);
    expect(rows.map((x) => decryptSecret(x.source_password_enc, config().encryptionKey))).toEqual([SECRET, `${SECRET}2`, `${SECRET}3`]);
    expect(rows.every((x) => !x.source_password_enc.includes(SECRET))).toBe(true);
    const jobs = await sql(`SELECT data->>'migrationId' AS id FROM pgboss.job WHERE name = 'migrate-mailbox' AND data->>'migrationId' = ANY($1)`, [rows.map((x) => x.id)]);
    expect(jobs).toHaveLength(3);
    const audit = await t.ok(`{ auditEvents(filter:{action:"bulk-migration.start"}){ edges { node { targetLabel details } } } }`, {}, A.token);
    expect(audit.auditEvents.edges[0].node).toMatchObject({ targetLabel: 'legacy.csv', details: { rows: 3 } });
    const everything = JSON.stringify([r, audit, await t.ok(LIST, {}, A.token)]);
    expect(everything).not.toContain(SECRET);
    // The same mailboxes again: each already has a migration running.
    const again = (await t.ok(START, { i: { csv, dryRun: true } }, A.token)).r;
    expect(again.result.rows.map((x: any) => codes(x.errors))).toEqual([['address:MIGRATION_RUNNING'], ['address:MIGRATION_RUNNING'], ['address:MIGRATION_RUNNING']]);
  });

  it('authorization: customers see their own bulks, admins all, mailbox owners and read-only tokens may not start one', async () => {
    expect((await t.ok(LIST, {}, A.token)).bulkMigrations.edges.map((e: any) => e.node.id)).toEqual([bulkId]);
    expect((await t.ok(LIST, {}, B.token)).bulkMigrations.totalCount).toBe(0);
    expect((await t.ok(LIST, {}, t.adminToken)).bulkMigrations.edges.map((e: any) => e.node.id)).toContain(bulkId);
    expect((await t.gql(`query($id:ID!){ node(id:$id){ id } }`, { id: bulkId }, B.token)).data.node).toBeNull();
    expect((await t.ok(CANCEL, { id: bulkId }, B.token)).r).toMatchObject({ __typename: 'NotFoundError', entity: 'BulkMigration' });
    expect((await t.ok(RETRY, { id: bulkId, csv: `${HEADER}\n${a1.address},127.0.0.1,${port},NONE,old-ann,x` }, B.token)).r).toMatchObject({ __typename: 'NotFoundError' });
    const owner = await t.login(a1.address, 'ann-pass-12345');
    const denied = await t.gql(START, { i: { csv: `${HEADER}\n${a1.address},h,,,u,p`, dryRun: true } }, owner);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.gql(LIST, {}, owner)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('bulkMigrationProgress: the bulk now, then its changes; another tenant gets not found', async () => {
    const subscribe = (token: string) => {
      const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
      const seen = { data: [] as any[], errors: [] as unknown[] };
      client.subscribe({ query: `subscription($id:ID!){ bulkMigrationProgress(id:$id){ id summary { total queued cancelled } } }`, variables: { id: bulkId } }, {
        next: (v) => (v.errors ? seen.errors.push(v.errors) : seen.data.push(v.data)),
        error: (e) => seen.errors.push(e),
        complete: () => {},
      });
      return { client, seen };
    };
    const a = subscribe(A.token);
    const b = subscribe(B.token);
    try {
      await waitFor(async () => a.seen.data.length > 0, 'the current state');
      expect(a.seen.data[0].bulkMigrationProgress).toEqual({ id: bulkId, summary: { total: 3, queued: 3, cancelled: 0 } });
      const c = (await t.ok(CANCEL, { id: bulkId }, A.token)).r;
      expect(c.bulkMigration.summary).toMatchObject({ total: 3, cancelled: 3, queued: 0 });
      await waitFor(async () => a.seen.data.at(-1)?.bulkMigrationProgress.summary.cancelled === 3, 'the cancellation, live');
      await waitFor(async () => b.seen.errors.length > 0, "the other tenant's refusal");
      expect(JSON.stringify(b.seen.errors)).toMatch(/BulkMigration not found/);
      expect(b.seen.data).toEqual([]);
    } finally {
      await a.client.dispose();
      await b.client.dispose();
    }
  });

  it('cancel all, then retry the cancelled rows with the file (passwords are not kept)', async () => {
    // Cancelled above, live; cancelling again changes nothing and is no error.
    const c = (await t.ok(CANCEL, { id: bulkId }, A.token)).r;
    expect(c.bulkMigration.summary).toMatchObject({ total: 3, cancelled: 3, queued: 0 });
    expect((await sql(`SELECT count(*)::int AS n FROM migrations WHERE bulk_migration_id = $1 AND status = 'CANCELLED'`, [uuid(bulkId)]))[0].n).toBe(3);
    const wiped = await sql(`SELECT count(*)::int AS n FROM migrations WHERE bulk_migration_id = $1 AND source_password_enc IS NOT NULL`, [uuid(bulkId)]);
    expect(wiped[0].n).toBe(0);
    // A file none of whose rows belong to this bulk retries nothing.
    const none = (await t.ok(RETRY, { id: bulkId, csv: `${HEADER}\n${a1.address},127.0.0.1,${port},NONE,someone-else,x` }, A.token)).r;
    expect(none).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'csv', code: 'NO_MATCH' }] });
    const r = (await t.ok(RETRY, { id: bulkId, csv: `${HEADER}\n${a2.address},127.0.0.1,${port},NONE,old-ben,${SECRET}-new` }, A.token)).r;
    expect(r.bulkMigration.summary).toMatchObject({ total: 3, queued: 1, cancelled: 2 });
    const [row] = await sql(`SELECT status, source_password_enc FROM migrations WHERE bulk_migration_id = $1 AND mailbox_id = $2`, [uuid(bulkId), uuid(a2.id)]);
    expect(row.status).toBe('QUEUED');
    expect(decryptSecret(row.source_password_enc, config().encryptionKey)).toBe(`${SECRET}-new`);
    expect(JSON.stringify(r)).not.toContain(SECRET);
    await t.ok(CANCEL, { id: bulkId }, A.token);
  });
});

describe('the per-host gate', async () => {
  const t = await startTestApp();
  const T = await createTenant(t, {}, 'gate');
  const boxes = await Promise.all(['g1', 'g2', 'g3', 'g4', 'g5', 'g6'].map((u) => createMailbox(t, T.token, u, T.domain)));
  const boss = t.app.boss;
  const limits = { perHost: 2, global: 0, leaseSeconds: 60 };

  async function queue(host: string, mailboxId: string, ageSeconds: number): Promise<string> {
    const [row] = await sql(
      `INSERT INTO migrations (mailbox_id, created_by_type, created_by_label, source_host, source_port, source_security, source_username, created_at)
       VALUES ($1, 'USER', 'test', $2, 143, 'NONE', 'u', now() - make_interval(secs => $3)) RETURNING id`,
      [uuid(mailboxId), host, ageSeconds],
    );
    return row.id;
  }

  it('pickAdmissions: oldest first, per host and global caps', () => {
    const w = [
      { id: '1', host: 'a' },
      { id: '2', host: 'a' },
      { id: '3', host: 'b' },
      { id: '4', host: 'a' },
    ];
    expect(pickAdmissions(w, new Map(), { perHost: 2, global: 0 })).toEqual(['1', '2', '3']);
    expect(pickAdmissions(w, new Map([['a', 1]]), { perHost: 2, global: 0 })).toEqual(['1', '3']);
    expect(pickAdmissions(w, new Map([['b', 1]]), { perHost: 2, global: 2 })).toEqual(['1']);
  });

  it('jobs of two workers arriving at once: two per host run, the rest wait in line and start, oldest first, as slots free', async () => {
    const old = await Promise.all(boxes.slice(0, 5).map((b, i) => queue('old.example', b.id, 100 - i)));
    const other = await queue('other.example', boxes[5]!.id, 50);
    // Every job arrives at the same moment on different connections, as from several workers.
    const verdicts = await Promise.all([...old, other].map((id) => enterGate(boss, id, limits)));
    expect(verdicts.filter((v) => v === 'run')).toHaveLength(3);
    expect(verdicts[5]).toBe('run');
    const waiting = await sql(`SELECT id FROM migrations WHERE gate_waiting_since IS NOT NULL ORDER BY gate_waiting_since, id`);
    expect(waiting).toHaveLength(3);
    const running = old.filter((_, i) => verdicts[i] === 'run');
    // The running ones take their lease (as runMigration's claim does).
    await sql(`UPDATE migrations SET status = 'RUNNING', lease_id = gen_random_uuid(), heartbeat_at = now(), gate_slot_at = NULL WHERE id = ANY($1::uuid[])`, [[...running, other]]);
    const phase = await sql(`SELECT phase FROM migrations WHERE id = $1`, [waiting[0].id]);
    expect(phase[0].phase).toBe('WAITING');
    const gql = await t.ok(`query($id:ID!){ node(id:$id){ ... on Migration { waitingForSlot status } } }`, { id: globalId(waiting[0].id) }, t.adminToken);
    expect(gql.node).toEqual({ waitingForSlot: true, status: 'QUEUED' });

    // A job that arrives again for a waiting migration does not jump the line or take a slot.
    expect(await enterGate(boss, waiting[2].id, limits)).toBe('wait');

    // One finishes: the first in line is admitted and its job enqueued; the others keep waiting.
    await sql(`UPDATE migrations SET status = 'SUCCEEDED', lease_id = NULL WHERE id = $1`, [running[0]]);
    await leaveGate(boss, running[0]!, limits);
    const admitted = await sql(`SELECT id FROM migrations WHERE gate_slot_at IS NOT NULL`);
    expect(admitted.map((r) => r.id)).toEqual([waiting[0].id]);
    const jobs = await sql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'migrate-mailbox' AND data->>'migrationId' = $1 AND state = 'created'`, [waiting[0].id]);
    expect(jobs[0].n).toBe(1);
    expect(await enterGate(boss, waiting[0].id, limits)).toBe('run');
    expect(await enterGate(boss, waiting[1].id, limits)).toBe('wait');

    // A crashed runner (lease not renewed) frees its slot once the lease time has passed.
    await sql(`UPDATE migrations SET heartbeat_at = now() - interval '5 minutes' WHERE id = $1`, [running[1]]);
    await leaveGate(boss, other, limits);
    expect((await sql(`SELECT gate_slot_at IS NOT NULL AS admitted FROM migrations WHERE id = $1`, [waiting[1].id]))[0].admitted).toBe(true);
  });

  it('a global cap holds across hosts', async () => {
    await sql(`UPDATE migrations SET status = 'CANCELLED', lease_id = NULL, gate_slot_at = NULL, gate_waiting_since = NULL`);
    const boxes2 = await Promise.all(['h1', 'h2', 'h3'].map((u) => createMailbox(t, T.token, u, T.domain)));
    const ids = await Promise.all(boxes2.map((b, i) => queue(`host${i}.example`, b.id, 10 - i)));
    const verdicts = await Promise.all(ids.map((id) => enterGate(boss, id, { ...limits, global: 2 })));
    expect(verdicts.filter((v) => v === 'run')).toHaveLength(2);
    expect(verdicts.filter((v) => v === 'wait')).toHaveLength(1);
  });
});

function globalId(id: string) {
  return Buffer.from(`Migration:${id}`).toString('base64');
}
