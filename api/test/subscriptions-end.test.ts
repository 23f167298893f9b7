import { describe, expect, it } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createMailbox, createTenant, errorOutputOf, startTestApp, waitFor, type TestApp } from '../../test/harness.js';

/** One subscription's life as a client sees it: results, errors, and whether it completed. */
function watch(client: Client, query: string, variables: Record<string, unknown>) {
  const seen = { data: [] as unknown[], errors: [] as unknown[], completed: false };
  client.subscribe({ query, variables }, {
    next: (v) => (v.errors ? seen.errors.push(v.errors) : seen.data.push(v.data)),
    error: (e) => seen.errors.push(e),
    complete: () => (seen.completed = true),
  });
  return seen;
}

function wsClient(t: TestApp, token: string) {
  return createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
}

describe('subscriptions end cleanly', async () => {
  const t = await startTestApp({ worker: true, listen: true });

  it('a mailbox deleted under an open mailboxChanged: its DELETING state, then completion; no error, nothing logged at error level', async () => {
    const tenant = await createTenant(t);
    const m = await createMailbox(t, tenant.token, 'going', tenant.domain);
    await waitFor(async () => (await t.ok(`query($id:ID!){ node(id:$id) { ... on Mailbox { provisioning } } }`, { id: m.id }, tenant.token)).node.provisioning === 'READY', 'READY');
    const client = wsClient(t, tenant.token);
    try {
      const changed = watch(client, `subscription($id:ID!){ mailboxChanged(id:$id){ address provisioning } }`, { id: m.id });
      const quota = watch(client, `subscription($id:ID!){ mailboxQuota(mailboxId:$id){ limitMb } }`, { id: m.id });
      await waitFor(async () => quota.data.length > 0, 'the quota subscription open');
      const errors = await errorOutputOf(async () => {
        const d = await t.ok(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: m.id }, tenant.token);
        expect(d.deleteMailbox.__typename).toBe('MutationDeleteMailboxSuccess');
        await waitFor(async () => changed.completed && quota.completed, 'both subscriptions complete', 20_000);
      });
      expect(changed.errors).toEqual([]);
      expect(changed.data.at(-1)).toEqual({ mailboxChanged: { address: m.address, provisioning: 'DELETING' } });
      expect(quota.errors).toEqual([]);
      expect(errors).toEqual([]);
      // The row is gone: subscribing now is a plain not-found.
      const late = watch(client, `subscription($id:ID!){ mailboxChanged(id:$id){ address } }`, { id: m.id });
      await waitFor(async () => late.errors.length > 0 || late.completed, 'an answer');
      expect(JSON.stringify(late.errors)).toContain('Mailbox not found');
    } finally {
      await client.dispose();
    }
  });

  it("a mailbox that leaves the viewer's sight (its domain moved to another customer) completes the subscription at the next event", async () => {
    const a = await createTenant(t);
    const b = await createTenant(t);
    const m = await createMailbox(t, a.token, 'moving', a.domain, 'mailbox-pass-1', 100);
    const client = wsClient(t, a.token);
    try {
      const changed = watch(client, `subscription($id:ID!){ mailboxChanged(id:$id){ quotaMb } }`, { id: m.id });
      await new Promise((r) => setTimeout(r, 300)); // subscribed
      const errors = await errorOutputOf(async () => {
        const moved = await t.ok(`mutation($id:ID!,$c:ID!){ updateDomain(id:$id, customerId:$c){ __typename } }`, { id: a.domainId, c: b.customerId }, t.adminToken);
        expect(moved.updateDomain.__typename).toBe('MutationUpdateDomainSuccess');
        // Any event on the mailbox now (here a new limit, which publishes one).
        const u = await t.ok(`mutation($id:ID!){ updateMailbox(id:$id, quotaMb:200){ __typename } }`, { id: m.id }, t.adminToken);
        expect(u.updateMailbox.__typename).toBe('MutationUpdateMailboxSuccess');
        await waitFor(async () => changed.completed, 'the subscription completes', 20_000);
      });
      expect(changed.errors).toEqual([]);
      // Nothing about the mailbox after it left A's sight.
      expect(changed.data.filter((d) => JSON.stringify(d).includes('200'))).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await client.dispose();
    }
  });
});
