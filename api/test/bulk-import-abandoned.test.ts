// A bulk import whose job fails for good — here its last try, as when the worker running it is killed
// on that try and pg-boss's heartbeat fails the job — must not leave its passwords in the database:
// pg-boss moves the job to the 'bulk-import-abandoned' dead letter queue, whose handler ends the
// import FAILED and wipes them (core/src/jobs.ts). No worker runs here, so nothing else touches the job.
import { afterAll, describe, expect, it } from 'vitest';
import { createBoss } from '../../core/src/jobs.js';
import { abandonBulkImport } from '../../worker/src/handlers/bulk-import.js';
import { createTenant, sql, startTestApp, success } from '../../test/harness.js';

describe('a bulk import whose job failed for good', async () => {
  const t = await startTestApp();
  const boss = createBoss(process.env.DATABASE_URL!, { supervise: false });
  await boss.start();
  afterAll(() => boss.stop({ graceful: false }));

  it('goes to the dead letter queue, and its handler ends the import FAILED with its passwords wiped', async () => {
    const a = await createTenant(t);
    const csv = `address,password\nabandoned@${a.domain},generate\n`;
    const started = await t.ok(`mutation($c:String!){ importMailboxes(input:{ csv:$c }){ ... on MutationImportMailboxesSuccess { result { bulkImport { id } } } } }`, { c: csv }, a.token);
    const importGid = success(started.importMailboxes, 'result').bulkImport.id as string;
    const [imp] = await sql(`SELECT id, secrets_enc FROM bulk_imports ORDER BY created_at DESC LIMIT 1`);
    expect(imp.secrets_enc).toBeTruthy();

    // Its last try: fetched (active), then failed.
    await sql(`UPDATE pgboss.job SET retry_count = retry_limit WHERE name = 'bulk-import' AND data->>'importId' = $1`, [imp.id]);
    const [job] = await boss.fetch<{ importId: string }>('bulk-import');
    expect(job?.data.importId).toBe(imp.id);
    await boss.fail('bulk-import', job!.id, { message: 'worker lost' });

    const [dead] = await boss.fetch<{ importId: string }>('bulk-import-abandoned');
    expect(dead?.data).toEqual({ importId: imp.id });
    await abandonBulkImport(dead!.data);

    const [after] = await sql(`SELECT status, secrets_enc FROM bulk_imports WHERE id = $1`, [imp.id]);
    expect(after).toEqual({ status: 'FAILED', secrets_enc: null });
    const shown = await t.ok(`query($id:ID!){ node(id:$id){ ... on BulkImport { status error } } }`, { id: importGid }, a.token);
    expect(shown.node).toMatchObject({ status: 'FAILED', error: expect.stringContaining('stopped') });
  });
});
