// migrationProgress ends cleanly when the migration leaves the viewer's sight (no worker here: the
// migration stays QUEUED until it is cancelled).
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createMailbox, createTenant, errorOutputOf, startTestApp, waitFor } from '../../test/harness.js';

describe('migrationProgress', async () => {
  const t = await startTestApp({ listen: true });

  it("completes without an error when the migration leaves the viewer's sight (its domain moved to another customer)", async () => {
    const a = await createTenant(t);
    const b = await createTenant(t);
    const m = await createMailbox(t, a.token, 'moving', a.domain);
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const started = await t.ok(
      `mutation($m:ID!,$s:ImapSourceInput!){ r: startMigration(mailboxId:$m, source:$s){ __typename ... on MutationStartMigrationSuccess { migration { id } } } }`,
      { m: m.id, s: { host: '127.0.0.1', port, security: 'NONE', username: 'old@legacy.test', password: 'Src-Password-1' } },
      a.token,
    );
    const id = started.r.migration.id;
    const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${a.token}` }, retryAttempts: 0 });
    const seen = { data: [] as unknown[], errors: [] as unknown[], completed: false };
    client.subscribe({ query: `subscription($id:ID!){ migrationProgress(id:$id){ status } }`, variables: { id } }, {
      next: (v) => (v.errors ? seen.errors.push(v.errors) : seen.data.push(v.data)),
      error: (e) => seen.errors.push(e),
      complete: () => (seen.completed = true),
    });
    try {
      await waitFor(async () => seen.data.length > 0, 'the current state');
      expect(seen.data[0]).toEqual({ migrationProgress: { status: 'QUEUED' } });
      const errors = await errorOutputOf(async () => {
        await t.ok(`mutation($id:ID!,$c:ID!){ updateDomain(id:$id, customerId:$c){ __typename } }`, { id: a.domainId, c: b.customerId }, t.adminToken);
        const c = await t.ok(`mutation($id:ID!){ r: cancelMigration(id:$id){ __typename } }`, { id }, t.adminToken);
        expect(c.r.__typename).toBe('MutationCancelMigrationSuccess');
        await waitFor(async () => seen.completed, 'completion', 15_000);
      });
      expect(seen.errors).toEqual([]);
      expect(seen.data).toHaveLength(1);
      expect(errors).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
