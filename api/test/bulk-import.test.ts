// Bulk import and export (issue 16) through the GraphQL API, with the worker running the import job.
import { describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createMailbox, createTenant, sql, startTestApp, success, waitFor } from '../../test/harness.js';

const RESULT = (kind: string) => `__typename
  ... on Mutation${kind}Success { result { ...R } }
  ... on ValidationError { message fieldErrors { field code message } }
  ... on NotFoundError { message }`;
const FRAGMENT = `fragment R on BulkImportResult { dryRun valid toCreate toUpdate unchanged errors generatedPasswordsCsv
  rows { row address outcome generatedPassword fieldErrors { field code message } }
  bulkImport { id status total } }`;
const IMPORT = `mutation($i:ImportMailboxesInput!){ importMailboxes(input:$i){ ${RESULT('ImportMailboxes')} } } ${FRAGMENT}`;
const IMPORT_FORWARDS = `mutation($i:ImportForwardsInput!){ importForwards(input:$i){ ${RESULT('ImportForwards')} } } ${FRAGMENT}`;
const STATE = `query($id:ID!){ node(id:$id){ ... on BulkImport { status total processed created updated unchanged failed error rows { row address outcome generatedPassword } } } }`;
const P1 = 'violet-harbour-sextant-91';
const P2 = 'amber-lantern-quartz-72';

describe('bulk import and export', async () => {
  const t = await startTestApp({ worker: true, listen: true });
  const run = async (token: string, csv: string, extra: Record<string, unknown> = {}, query = IMPORT) => {
    const d = await t.ok(query, { i: { csv, ...extra } }, token);
    return d.importMailboxes ?? d.importForwards;
  };
  const finished = (token: string, id: string) =>
    waitFor(async () => {
      const n = (await t.ok(STATE, { id }, token)).node;
      return ['SUCCEEDED', 'FAILED'].includes(n.status) && n;
    }, 'the import to end', 60_000);
  const mailboxCount = async (customer: string) => (await sql(`SELECT count(*)::int AS n FROM mailboxes m JOIN domains d ON d.id = m.domain_id WHERE d.name = $1`, [customer]))[0].n;

  it('a dry run reports each row’s problem next to its column and writes nothing', async () => {
    const a = await createTenant(t);
    const other = await createTenant(t);
    const csv = [
      'address,password,quota,status,name',
      `ok@${a.domain},${P1},100,active,Ok`,
      `weak@${a.domain},password1,100,,`,
      `bad address,${P1},,,`,
      `x@${other.domain},${P1},,,`,
      `ok@${a.domain},${P2},,,`,
      `q@${a.domain},${P1},lots,asleep,`,
    ].join('\n');
    const before = await mailboxCount(a.domain);
    const r = success(await run(a.token, csv, { dryRun: true }), 'result');
    expect(r).toMatchObject({ dryRun: true, valid: false, toCreate: 1, errors: 5, bulkImport: null, generatedPasswordsCsv: null });
    expect(r.rows.map((x: any) => [x.row, x.outcome, x.fieldErrors.map((e: any) => `${e.field}:${e.code}`).join(' ')])).toEqual([
      [2, 'CREATE', ''],
      [3, 'ERROR', 'password:TOO_WEAK'],
      [4, 'ERROR', 'address:INVALID'],
      // Another customer's domain reads as not found.
      [5, 'ERROR', 'address:NOT_FOUND'],
      [6, 'ERROR', 'address:DUPLICATE'],
      [7, 'ERROR', 'quota:INVALID status:INVALID'],
    ]);
    // A real run of a file with errors starts nothing either.
    const real = success(await run(a.token, csv), 'result');
    expect(real).toMatchObject({ dryRun: false, valid: false, bulkImport: null });
    expect(await mailboxCount(a.domain)).toBe(before);
    // A file the parser cannot take is one error on the csv field.
    const bad = await run(a.token, 'address,quota_mb\nx@y.test,1\n', { dryRun: true });
    expect(bad).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'csv', code: 'UNKNOWN_COLUMN' }] });
  });

  it('counts the limits as createMailbox does: a mailbox deleted in its grace period counts against none, and its address stays reserved', async () => {
    const a = await createTenant(t, { maxMailboxes: 2, totalQuotaMb: 300, deleteGraceDays: 30 });
    await createMailbox(t, a.token, 'kept', a.domain, P2, 100);
    const gone = await createMailbox(t, a.token, 'gone', a.domain, P2, 100);
    const del = await t.ok(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: gone.id }, a.token);
    expect(del.deleteMailbox.__typename).toBe('MutationDeleteMailboxSuccess');
    const csv = `address,password,quota\nnew@${a.domain},${P1},200\ngone@${a.domain},${P1},100\n`;
    const r = success(await run(a.token, csv, { dryRun: true }), 'result');
    expect(r.rows.map((x: any) => [x.outcome, x.fieldErrors.map((e: any) => `${e.field}:${e.code}`).join(' ')])).toEqual([
      ['CREATE', ''],
      ['ERROR', 'address:TAKEN'],
    ]);
    expect(r.rows[1].fieldErrors[0].message).toMatch(/reserved until \d{4}-\d{2}-\d{2}/);
  });

  it('counts the package limits over the whole file', async () => {
    const a = await createTenant(t, { maxMailboxes: 3, totalQuotaMb: 1000 });
    await createMailbox(t, a.token, 'existing', a.domain, P2, 400);
    const csv = `address,password,quota\na@${a.domain},${P1},300\nb@${a.domain},${P1},400\nc@${a.domain},${P1},100\nd@${a.domain},${P1},100\n`;
    const r = success(await run(a.token, csv, { dryRun: true }), 'result');
    expect(r.rows.map((x: any) => x.outcome + ' ' + x.fieldErrors.map((e: any) => `${e.field}:${e.code}`).join(' '))).toEqual([
      'CREATE ',
      'ERROR quota:LIMIT_EXCEEDED',
      'CREATE ',
      'ERROR address:LIMIT_EXCEEDED',
    ]);
  });

  it('imports in the background with live progress, returns generated passwords once, and a rerun changes nothing', { timeout: 120_000 }, async () => {
    const a = await createTenant(t);
    await createMailbox(t, a.token, 'kept', a.domain, P2, 50);
    const hashBefore = (await sql(`SELECT password_hash FROM mailboxes WHERE address = $1`, [`kept@${a.domain}`]))[0].password_hash;
    const rows = Array.from({ length: 12 }, (_, i) => `user${i}@${a.domain},${i % 2 ? 'generate' : P1 + i},${10 + i},${i === 3 ? 'disabled' : 'active'},User ${i}`);
    // An existing mailbox in the file: its quota changes, its password never does.
    const csv = ['address,password,quota,status,name', ...rows, `kept@${a.domain},${P1},60,active,`].join('\r\n');
    const r = success(await run(a.token, csv), 'result');
    expect(r).toMatchObject({ dryRun: false, valid: true, toCreate: 12, toUpdate: 1, bulkImport: { status: 'QUEUED', total: 13 } });
    const id = r.bulkImport.id;

    const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${a.token}` }, retryAttempts: 0 });
    const seen: any[] = [];
    let completed = false;
    client.subscribe({ query: `subscription($id:ID!){ bulkImportProgress(id:$id){ status processed total } }`, variables: { id } }, {
      next: (v) => seen.push(v.data?.bulkImportProgress ?? v.errors),
      error: (e) => seen.push(e),
      complete: () => (completed = true),
    });
    const done = await finished(a.token, id);
    await waitFor(async () => completed, 'the subscription to end with the final state', 30_000);
    await client.dispose();
    expect(seen.at(-1)).toEqual({ status: 'SUCCEEDED', processed: 13, total: 13 });
    expect(done).toMatchObject({ status: 'SUCCEEDED', processed: 13, created: 12, updated: 1, unchanged: 0, failed: 0, error: null });

    // Generated passwords: in this one answer, as CSV; they log in. Typed passwords log in too.
    const lines = r.generatedPasswordsCsv.trim().split('\r\n');
    expect(lines[0]).toBe('address,password');
    expect(lines).toHaveLength(7);
    const [addr, pass] = lines[1].split(',');
    expect(addr).toBe(`user1@${a.domain}`);
    await t.login(addr, pass);
    await t.login(`user0@${a.domain}`, P1 + 0);
    expect(r.rows.filter((x: any) => x.generatedPassword).map((x: any) => x.address)).toEqual(lines.slice(1).map((l: string) => l.split(',')[0]));
    // …and nowhere else: not in the import row, not in its API answer, not in the audit log.
    expect((await sql(`SELECT secrets_enc FROM bulk_imports WHERE id = (SELECT id FROM bulk_imports ORDER BY created_at DESC LIMIT 1)`))[0].secrets_enc).toBeNull();
    const stored = JSON.stringify(await sql(`SELECT * FROM bulk_imports`)) + JSON.stringify(await sql(`SELECT details FROM audit_events`));
    const full = JSON.stringify(await t.ok(`query($id:ID!){ node(id:$id){ ... on BulkImport { rows { row address outcome generatedPassword fieldErrors { message } } error } } }`, { id }, a.token));
    for (const l of lines.slice(1)) {
      expect(stored).not.toContain(l.split(',')[1]);
      expect(full).not.toContain(l.split(',')[1]);
    }
    expect(stored).not.toContain(P1);

    const m3 = (await sql(`SELECT status, quota_mb, name, provisioning FROM mailboxes WHERE address = $1`, [`user3@${a.domain}`]))[0];
    expect(m3).toMatchObject({ status: 'DISABLED', quota_mb: 13, name: 'User 3' });
    await waitFor(async () => (await sql(`SELECT count(*)::int AS n FROM mailboxes WHERE address LIKE $1 AND provisioning = 'READY'`, [`user%@${a.domain}`]))[0].n === 12, 'provisioning');
    const kept = (await sql(`SELECT password_hash, quota_mb FROM mailboxes WHERE address = $1`, [`kept@${a.domain}`]))[0];
    expect(kept).toEqual({ password_hash: hashBefore, quota_mb: 60 });

    // The same file again: every row unchanged, no new generated passwords, nothing written.
    const again = success(await run(a.token, csv), 'result');
    expect(again).toMatchObject({ toCreate: 0, toUpdate: 0, unchanged: 13, generatedPasswordsCsv: null });
    const done2 = await finished(a.token, again.bulkImport.id);
    expect(done2).toMatchObject({ status: 'SUCCEEDED', created: 0, updated: 0, unchanged: 13 });
    expect((await sql(`SELECT password_hash FROM mailboxes WHERE address = $1`, [`kept@${a.domain}`]))[0].password_hash).toBe(hashBefore);

    // Export: the import format without any password; importing it back changes nothing.
    const exported = (await t.ok(`query($c:ID){ exportMailboxes(filter:{ customerId:$c }) }`, { c: a.customerId }, a.token)).exportMailboxes as string;
    expect(exported.split('\r\n')[0]).toBe('address,quota,status,name');
    expect(exported).toContain(`user3@${a.domain},13,disabled,User 3`);
    expect(exported).not.toMatch(/argon2|password/i);
    const back = success(await run(a.token, exported, { dryRun: true }), 'result');
    expect(back).toMatchObject({ valid: true, toCreate: 0, toUpdate: 0, unchanged: 13 });
  });

  it('export escapes formula cells', async () => {
    const a = await createTenant(t);
    const r = success(await run(a.token, `address,password,name\nsheet@${a.domain},${P1},"=HYPERLINK(""http://evil.test"")"\n`), 'result');
    await finished(a.token, r.bulkImport.id);
    const exported = (await t.ok(`{ exportMailboxes(filter:{ search:"sheet@" }) }`, {}, a.token)).exportMailboxes as string;
    expect(exported).toContain(`sheet@${a.domain},1024,active,"'=HYPERLINK(""http://evil.test"")"`);
  });

  it('authorization: customers import into and see only their own; mailbox owners can neither import nor export', async () => {
    const a = await createTenant(t);
    const b = await createTenant(t);
    const r = success(await run(a.token, `address,password\nmine@${a.domain},${P1}\n`), 'result');
    await finished(a.token, r.bulkImport.id);
    // b cannot see a's import, nor stream it, nor name a's customer.
    expect((await t.ok(STATE, { id: r.bulkImport.id }, b.token)).node).toBeNull();
    expect((await t.ok(STATE, { id: r.bulkImport.id }, t.adminToken)).node.status).toBe('SUCCEEDED');
    expect(await run(b.token, `address,password\nx@${b.domain},${P1}\n`, { dryRun: true, customerId: a.customerId })).toMatchObject({ __typename: 'NotFoundError' });
    const exportedByB = (await t.ok(`{ exportMailboxes }`, {}, b.token)).exportMailboxes as string;
    expect(exportedByB).not.toContain(a.domain);
    // An admin limited to customer a: b's domain is not found.
    const admin = success(await run(t.adminToken, `address,password\nx@${b.domain},${P1}\n`, { dryRun: true, customerId: a.customerId }), 'result');
    expect(admin.rows[0].fieldErrors[0].code).toBe('NOT_FOUND');
    const owner = await t.login(`mine@${a.domain}`, P1);
    const denied = await t.gql(IMPORT, { i: { csv: `address,password\ny@${a.domain},${P1}\n` } }, owner);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const deniedExport = await t.gql(`{ exportMailboxes }`, {}, owner);
    expect(deniedExport.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('forwards: dry run, loops refused with nothing written, idempotent rerun, export', async () => {
    const a = await createTenant(t);
    const d = a.domain;
    const csv = `source,destinations\nsales@${d},"one@elsewhere.test, two@elsewhere.test"\n*@${d},catch@elsewhere.test\nbad,x\n`;
    const dry = success(await run(a.token, csv, { dryRun: true }, IMPORT_FORWARDS), 'result');
    expect(dry.rows.map((x: any) => [x.outcome, x.fieldErrors.map((e: any) => `${e.field}:${e.code}`).join(' ')])).toEqual([
      ['CREATE', ''],
      ['CREATE', ''],
      ['ERROR', 'source:INVALID destinations:INVALID'],
    ]);
    const good = csv.split('\n').slice(0, 3).join('\n');
    const r = success(await run(a.token, good, {}, IMPORT_FORWARDS), 'result');
    expect(r).toMatchObject({ toCreate: 2, bulkImport: { status: 'SUCCEEDED', total: 2 } });
    expect(await sql(`SELECT source, destinations FROM forwards WHERE source = $1`, [`sales@${d}`])).toEqual([{ source: `sales@${d}`, destinations: ['one@elsewhere.test', 'two@elsewhere.test'] }]);
    const again = success(await run(a.token, `source,destinations\nsales@${d},two@elsewhere.test one@elsewhere.test\n`, {}, IMPORT_FORWARDS), 'result');
    expect(again).toMatchObject({ unchanged: 1, toCreate: 0, toUpdate: 0 });
    // A file that closes a loop (a → b → a) is refused as a whole.
    const loop = await run(a.token, `source,destinations\nla@${d},lb@${d}\nlb@${d},la@${d}\n`, {}, IMPORT_FORWARDS);
    expect(loop).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'csv', code: 'FORWARD_LOOP' }] });
    expect(await sql(`SELECT 1 FROM forwards WHERE source IN ($1, $2)`, [`la@${d}`, `lb@${d}`])).toHaveLength(0);
    const exported = (await t.ok(`query($c:ID){ exportForwards(filter:{ customerId:$c }) }`, { c: a.customerId }, a.token)).exportForwards as string;
    expect(exported).toBe(`source,destinations\r\n*@${d},catch@elsewhere.test\r\nsales@${d},one@elsewhere.test two@elsewhere.test\r\n`);
    const back = success(await run(a.token, exported, { dryRun: true }, IMPORT_FORWARDS), 'result');
    expect(back).toMatchObject({ valid: true, unchanged: 2 });
  });
});
