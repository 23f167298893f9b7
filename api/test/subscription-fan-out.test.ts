// Shared subscriptions (SubscriptionFanOut): subscribers asking the same thing as the same viewer
// share one execution per event. Proven here over real sockets, with events published the way the
// worker publishes them: the same document from another tenant is refused and never sees the
// shared results; a socket in a shared subscription still closes with 4401 when its own token
// expires while the others go on; once everybody has left, the next subscriber gets the row as it is
// now, not what the finished shared subscription last saw.
import { describe, expect, it } from 'vitest';
import { SignJWT, decodeJwt } from 'jose';
import WebSocket from 'ws';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { db } from '../../core/src/db.js';
import { publish } from '../../core/src/pubsub.js';
import { topicOf } from '../../worker/src/migration/run-migration.js';
import { createMailbox, createTenant, startTestApp, waitFor } from '../../test/harness.js';
import { throttledMigrationEvents } from '../src/schema/migration.js';

const PROGRESS = `subscription($id:ID!){ migrationProgress(id:$id){ id status messagesCopied mailbox { address } } }`;
const START = `mutation($m:ID!,$s:ImapSourceInput!){ r: startMigration(mailboxId:$m, source:$s){ __typename
  ... on MutationStartMigrationSuccess { migration { id } } ... on Error { message } } }`;

interface Progress {
  id: string;
  status: string;
  messagesCopied: number;
  mailbox: { address: string };
}

/** One graphql-transport-ws socket with one subscription; records every message and the close. */
function subscriber(url: string, token: string, variables: Record<string, unknown>) {
  const ws = new WebSocket(url, 'graphql-transport-ws');
  const data: Progress[] = [];
  const errors: unknown[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })));
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (m.type === 'connection_ack') ws.send(JSON.stringify({ id: 's1', type: 'subscribe', payload: { query: PROGRESS, variables } }));
    if (m.type === 'next') {
      if (m.payload.errors) errors.push(...m.payload.errors);
      if (m.payload.data?.migrationProgress) data.push(m.payload.data.migrationProgress);
    }
    if (m.type === 'error') errors.push(...m.payload);
  });
  return { ws, data, errors, closed, close: () => ws.close(1000) };
}

/** The same viewer as `token` (same claims), with another expiry. */
async function sameViewerExpiringIn(token: string, seconds: number): Promise<string> {
  const { sub, kind, role, cid, label } = decodeJwt(token);
  return new SignJWT({ kind, role, cid, label })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub!)
    .setIssuer('mailpanel')
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + seconds)
    .sign(new TextEncoder().encode(process.env.JWT_SECRET!));
}

describe('shared subscriptions', async () => {
  const t = await startTestApp({ listen: true });
  const url = t.app.url.replace('http', 'ws') + '/graphql';
  const A = await createTenant(t, {}, 'fan-a');
  const B = await createTenant(t, {}, 'fan-b');
  const a1 = await createMailbox(t, A.token, 'amy', A.domain);
  const b1 = await createMailbox(t, B.token, 'bob', B.domain);
  const src = { host: '127.0.0.1', port: 1, security: 'NONE', username: 'old@legacy.test', password: 'source-pass-1' };
  const startMigration = async (token: string, mailboxId: string) => (await t.ok(START, { m: mailboxId, s: src }, token)).r.migration.id as string;
  const migA = await startMigration(A.token, a1.id);
  const migB = await startMigration(B.token, b1.id);

  /** What the worker does: update the row, then publish its id and status. */
  async function progress(globalId: string, messagesCopied: number, status = 'RUNNING') {
    const id = decodeGlobalID(globalId).id;
    await db().migration.update({ where: { id }, data: { messagesCopied, status: status as never } });
    await publish(db(), topicOf(id), { id, status });
  }

  it("another tenant's subscriber with the same document and variables is refused and never gets the shared results", async () => {
    await progress(migA, 1);
    // Tenant A twice (one shared subscription) and the admin, all on A's migration.
    const a = [subscriber(url, A.token, { id: migA }), subscriber(url, A.token, { id: migA })];
    const admin = subscriber(url, t.adminToken, { id: migA });
    await waitFor(async () => [...a, admin].every((s) => s.data.length === 1), 'the current state for A and the admin');
    // B asks exactly what A asks, while A's shared subscription runs.
    const b = subscriber(url, B.token, { id: migA });
    await waitFor(async () => b.errors.length > 0, "B's refusal");
    expect(JSON.stringify(b.errors)).toContain('Migration not found');
    // B on its own migration with the same document: its own data only.
    const bOwn = subscriber(url, B.token, { id: migB });
    await waitFor(async () => bOwn.data.length === 1, "B's own migration");

    await progress(migA, 2);
    await progress(migB, 7);
    await waitFor(async () => [...a, admin].every((s) => s.data.length === 2) && bOwn.data.length === 2, 'the next events');
    for (const s of [...a, admin]) expect(s.data.map((d) => [d.id, d.messagesCopied, d.mailbox.address])).toEqual([[migA, 1, a1.address], [migA, 2, a1.address]]);
    expect(bOwn.data.map((d) => [d.id, d.messagesCopied, d.mailbox.address])).toEqual([[migB, 0, b1.address], [migB, 7, b1.address]]);
    // Nothing of A's ever reached a socket of B.
    expect(b.data).toEqual([]);
    expect(JSON.stringify([b.data, bOwn.data])).not.toContain(a1.address);
    for (const s of [...a, admin, b, bOwn]) s.close();
  });

  it('a socket whose token expires is closed with 4401 while the others sharing its subscription go on', async () => {
    const soon = await sameViewerExpiringIn(A.token, 3);
    const lasting = subscriber(url, A.token, { id: migA });
    const expiring = subscriber(url, soon, { id: migA });
    await waitFor(async () => lasting.data.length === 1 && expiring.data.length === 1, 'the current state on both');
    await progress(migA, 3);
    await waitFor(async () => lasting.data.length === 2 && expiring.data.length === 2, 'an event on both');

    expect(await expiring.closed).toEqual({ code: 4401, reason: 'Access token expired' });
    await progress(migA, 4);
    await waitFor(async () => lasting.data.length === 3, 'an event after the other socket closed');
    expect(lasting.data.at(-1)!.messagesCopied).toBe(4);
    expect(expiring.data.map((d) => d.messagesCopied)).toEqual([2, 3]);
    expect(lasting.ws.readyState).toBe(WebSocket.OPEN);
    lasting.close();
  });

  it('after the last subscriber left, the next one gets the row as it is now', async () => {
    const first = subscriber(url, A.token, { id: migA });
    await waitFor(async () => first.data.length === 1, 'the current state');
    first.close();
    await first.closed;
    // Changed without an event: only a fresh subscription reads it.
    await db().migration.update({ where: { id: decodeGlobalID(migA).id }, data: { messagesCopied: 42 } });
    const next = subscriber(url, A.token, { id: migA });
    await waitFor(async () => next.data.length === 1, 'the current state');
    expect(next.data[0]!.messagesCopied).toBe(42);
    next.close();
  });

  it('a final state reaches every subscriber and ends their subscriptions', async () => {
    const subs = [subscriber(url, A.token, { id: migA }), subscriber(url, A.token, { id: migA }), subscriber(url, t.adminToken, { id: migA })];
    const completes = subs.map(
      (s) => new Promise<void>((resolve) => s.ws.on('message', (raw) => JSON.parse(raw.toString()).type === 'complete' && resolve())),
    );
    await waitFor(async () => subs.every((s) => s.data.length === 1), 'the current state');
    await progress(migA, 50, 'SUCCEEDED');
    await Promise.all(completes);
    for (const s of subs) expect(s.data.map((d) => d.status)).toEqual(['RUNNING', 'SUCCEEDED']);
    for (const s of subs) s.close();
  });

  it('queries and mutations over the socket are not shared and keep the client address (audit)', async () => {
    const ws = new WebSocket(url, 'graphql-transport-ws');
    const answers = new Map<string, any>();
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${B.token}` } })));
    ws.on('message', (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.type === 'connection_ack')
        ws.send(JSON.stringify({ id: 'm1', type: 'subscribe', payload: { query: `mutation($id:ID!){ cancelMigration(id:$id){ __typename } }`, variables: { id: migA } } }));
      if (m.type === 'next') answers.set(m.id, m.payload);
    });
    // B cannot cancel A's migration, and can cancel its own: answers for B alone.
    await waitFor(async () => answers.get('m1'), 'the mutation over the socket');
    expect(answers.get('m1').data.cancelMigration.__typename).toBe('NotFoundError');
    ws.send(JSON.stringify({ id: 'm2', type: 'subscribe', payload: { query: `mutation($id:ID!){ cancelMigration(id:$id){ __typename } }`, variables: { id: migB } } }));
    await waitFor(async () => answers.get('m2'), 'the second mutation');
    expect(answers.get('m2').data.cancelMigration.__typename).toBe('MutationCancelMigrationSuccess');
    const audit = await t.ok(`{ auditEvents(filter:{action:"migration.cancel"}, first:1){ edges { node { clientIp } } } }`, {}, B.token);
    expect(audit.auditEvents.edges[0].node.clientIp).toMatch(/127\.0\.0\.1/);
    ws.close();
  });
});

describe('migrationProgress stream', () => {
  it('a subscriber leaving while no event comes unsubscribes from the events at once', async () => {
    let unsubscribed = false;
    const quiet: AsyncIterable<{ id: string; status: string }> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<never>(() => {}),
        return: async () => {
          unsubscribed = true;
          return { value: undefined, done: true };
        },
      }),
    };
    const stream = throttledMigrationEvents(quiet, { id: 'm', status: 'RUNNING' }, 50);
    expect(await stream.next()).toEqual({ value: { id: 'm', status: 'RUNNING' }, done: false });
    const waiting = stream.next();
    await new Promise((r) => setTimeout(r, 20));
    expect(await stream.return!()).toMatchObject({ done: true });
    expect(await waiting).toMatchObject({ done: true });
    expect(unsubscribed).toBe(true);
  });
});
