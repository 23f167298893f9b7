// PostgreSQL restarts under load: while it is down the API answers 503 with a retry hint (never a
// crash or a 500), it recovers by itself when the database is back, and subscriptions keep working
// because the LISTEN connection reconnects. Uses its own PostgreSQL so other test files are not hit.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startEmbeddedPostgres } from '../core/src/embedded-postgres.js';
import { migrate } from '../core/src/migrate.js';

const root = mkdtempSync(path.join(tmpdir(), 'mailpanel-restart-'));
chmodSync(root, 0o755);
const port = 20000 + Math.floor(Math.random() * 20000);
let pg = await startEmbeddedPostgres({ dir: path.join(root, 'pg'), port });
await migrate(pg.url);
process.env.DATABASE_URL = pg.url;
const { startTestApp, createTenant, createMailbox } = await import('./harness.js');
const { publish } = await import('../core/src/pubsub.js');
const { db } = await import('../core/src/db.js');
afterAll(async () => {
  await pg.stop();
  rmSync(root, { recursive: true, force: true });
});

it('answers 503 while PostgreSQL is down, recovers alone, and subscriptions resume', { timeout: 90_000 }, async () => {
  const t = await startTestApp({ listen: true });
  const tenant = await createTenant(t);
  const mailbox = await createMailbox(t, tenant.token, 'watched', tenant.domain);
  const ask = async () => {
    const res = await fetch(`${t.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminToken}` },
      body: JSON.stringify({ query: '{ mailboxes { totalCount } }' }),
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
  };
  expect((await ask()).body.data.mailboxes.totalCount).toBe(1);

  const events: string[] = [];
  const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.token}` } });
  client.subscribe({ query: `subscription($id:ID!){ mailboxChanged(id:$id){ address } }`, variables: { id: mailbox.id } }, {
    next: (v: any) => events.push(v.data?.mailboxChanged?.address ?? JSON.stringify(v.errors)),
    error: () => {},
    complete: () => {},
  });
  await new Promise((r) => setTimeout(r, 300));

  // Load during the outage: every answer is a 200 (before/after) or a 503 with a retry hint.
  const statuses: number[] = [];
  let stop = false;
  const load = Promise.all(
    Array.from({ length: 8 }, async () => {
      while (!stop) {
        const r = await ask();
        statuses.push(r.status);
        if (r.status === 503) {
          expect(r.retryAfter).toBe('5');
          expect(r.body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    }),
  );
  await pg.stop();
  await new Promise((r) => setTimeout(r, 1500));
  pg = await startEmbeddedPostgres({ dir: path.join(root, 'pg'), port });
  // Recovers without a restart of the API.
  const start = Date.now();
  while ((await ask()).status !== 200) {
    expect(Date.now() - start).toBeLessThan(30_000);
    await new Promise((r) => setTimeout(r, 200));
  }
  stop = true;
  await load;
  expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
  expect(statuses).toContain(503);

  // The LISTEN connection came back: an event published now reaches the subscriber.
  const deadline = Date.now() + 20_000;
  while (!events.includes(mailbox.address)) {
    expect(Date.now()).toBeLessThan(deadline);
    await publish(db(), `mailbox:${(await db().mailbox.findFirstOrThrow()).id}`, { id: (await db().mailbox.findFirstOrThrow()).id });
    await new Promise((r) => setTimeout(r, 500));
  }
  await client.dispose();
});
