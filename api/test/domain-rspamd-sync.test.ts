import { expect, it } from 'vitest';
import pg from 'pg';
import { createTenant, startTestApp } from '../../test/harness.js';

it('creating, changing or deleting a domain asks the worker to re-render rspamd at once', async () => {
  const t = await startTestApp();
  const reasons = async () => {
    const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    const r = (await c.query(`SELECT data->>'reason' AS reason FROM pgboss.job WHERE name = 'rspamd-sync' ORDER BY created_on`)).rows.map((x) => x.reason);
    await c.end();
    return r;
  };
  const tenant = await createTenant(t);
  expect(await reasons()).toContain('domain.create');
  await t.ok(`mutation($id:ID!){ updateDomain(id:$id, enabled:false){ __typename } }`, { id: tenant.domainId }, t.adminToken);
  expect(await reasons()).toContain('domain.update');
  await t.ok(`mutation($id:ID!){ deleteDomain(id:$id){ __typename } }`, { id: tenant.domainId }, tenant.token);
  expect(await reasons()).toContain('domain.delete');
});
