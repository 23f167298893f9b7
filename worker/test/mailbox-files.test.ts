// The worker's files without a mail stack, driven through GraphQL: the autoresponder's Sieve
// script (installed, replaced, removed; idempotent), and quota usage measured from the Maildir
// (recalculateQuota, the scheduled refresh of every mailbox, the mailboxQuota subscription).
// The real Dovecot running these files is the mail-stack suite's job (e2e/mailstack).
import { lstat, mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { renderVacationSieve } from '../../core/src/render/sieve.js';
import { createMailbox, createTenant, startTestApp, success, waitFor } from '../../test/harness.js';

const SET_AR = `mutation($id:ID!,$i:AutoresponderInput!){ r: setAutoresponder(mailboxId:$id, input:$i){ __typename
  ... on MutationSetAutoresponderSuccess { mailbox { id provisioning } } ... on ValidationError { fieldErrors { field code } } } }`;
const RECALC = `mutation($id:ID!){ r: recalculateQuota(mailboxId:$id){ __typename ... on MutationRecalculateQuotaSuccess { mailbox { id } } ... on Error { message } } }`;
const QUOTA = `query($id:ID!){ node(id:$id){ ... on Mailbox { provisioning provisioningError quota { usedBytes usedMb limitMb percent messages updatedAt } } } }`;

describe('worker: Sieve scripts and quota usage on disk', async () => {
  const t = await startTestApp({ worker: true, listen: true });
  const tenant = await createTenant(t);
  const home = (address: string) => {
    const [local, domain] = address.split('@');
    return path.join(process.env.MAIL_ROOT!, domain!, local!);
  };
  const state = async (id: string) => (await t.ok(QUOTA, { id }, tenant.token)).node;
  const ready = (id: string) => waitFor(async () => (await state(id)).provisioning === 'READY', 'provisioning READY');
  const setAutoresponder = async (id: string, input: object) => {
    const r = (await t.ok(SET_AR, { id, i: input }, tenant.token)).r;
    expect(r.__typename, JSON.stringify(r)).toBe('MutationSetAutoresponderSuccess');
    expect(r.mailbox.provisioning).toBe('PENDING');
    await ready(id);
  };

  describe('autoresponder → Sieve', async () => {
    const m = await createMailbox(t, tenant.token, 'away', tenant.domain);
    await ready(m.id);
    const script = () => readFile(path.join(home(m.address), 'sieve', 'panel.sieve'), 'utf8');
    const link = () => readlink(path.join(home(m.address), '.dovecot.sieve'));
    const exists = (p: string) => lstat(path.join(home(m.address), p)).then(() => true, () => false);
    const startsAt = '2030-01-01T08:00:00.000Z';

    it('installs the rendered script and activates it with the .dovecot.sieve link', async () => {
      const input = { enabled: true, subject: 'Out "of" office', message: 'Back on Monday.\n"; redirect "x@evil";', startsAt };
      await setAutoresponder(m.id, input);
      expect(await script()).toBe(renderVacationSieve({ ...input, startsAt: new Date(startsAt), address: m.address }));
      expect(await link()).toBe('sieve/panel.sieve');
    });

    it('leaves the files alone when nothing changed, rewrites them when something did', async () => {
      const input = { enabled: true, subject: 'Out "of" office', message: 'Back on Monday.\n"; redirect "x@evil";', startsAt };
      const before = await stat(path.join(home(m.address), 'sieve', 'panel.sieve'));
      await setAutoresponder(m.id, input);
      const same = await stat(path.join(home(m.address), 'sieve', 'panel.sieve'));
      expect([same.ino, same.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
      await writeFile(path.join(home(m.address), '.dovecot.svbin'), 'compiled by Dovecot from the old script');
      await setAutoresponder(m.id, { ...input, subject: 'Changed' });
      expect(await exists('.dovecot.svbin')).toBe(false); // stale binary gone
      expect(await script()).toContain(':subject "Changed"');
      expect((await stat(path.join(home(m.address), 'sieve', 'panel.sieve'))).ino).not.toBe(before.ino);
      expect(await link()).toBe('sieve/panel.sieve');
    });

    it('restores a deleted link or script (the disk is made to match the rows)', async () => {
      const { rm } = await import('node:fs/promises');
      await rm(path.join(home(m.address), '.dovecot.sieve'));
      await rm(path.join(home(m.address), 'sieve', 'panel.sieve'));
      await setAutoresponder(m.id, { enabled: true, subject: 'Changed', message: 'Back on Monday.\n"; redirect "x@evil";', startsAt });
      expect(await script()).toContain(':subject "Changed"');
      expect(await link()).toBe('sieve/panel.sieve');
    });

    it('removes the link, the script and a compiled binary when disabled', async () => {
      await writeFile(path.join(home(m.address), 'sieve', 'panel.svbin'), 'compiled');
      await writeFile(path.join(home(m.address), '.dovecot.svbin'), 'compiled');
      await setAutoresponder(m.id, { enabled: false, subject: '', message: '' });
      expect(await exists('.dovecot.sieve')).toBe(false);
      expect(await exists('.dovecot.svbin')).toBe(false);
      expect(await exists('sieve/panel.sieve')).toBe(false);
      expect(await exists('sieve/panel.svbin')).toBe(false);
      // and on again
      await setAutoresponder(m.id, { enabled: true, subject: 'Again', message: 'x' });
      expect(await script()).toContain(':subject "Again"');
    });
  });

  describe('quota usage from the Maildir', async () => {
    const m = await createMailbox(t, tenant.token, 'quota', tenant.domain, 'quota-pass-1', 1);
    await ready(m.id);
    const maildir = path.join(home(m.address), 'Maildir');
    const put = async (rel: string, content: string) => {
      await mkdir(path.dirname(path.join(maildir, rel)), { recursive: true });
      await writeFile(path.join(maildir, rel), content);
    };
    const subscribe = () => {
      const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.token}` }, retryAttempts: 0 });
      const seen: any[] = [];
      const errors: unknown[] = [];
      client.subscribe(
        { query: `subscription($id:ID!){ mailboxQuota(mailboxId:$id){ usedBytes usedMb limitMb percent messages updatedAt } }`, variables: { id: m.id } },
        { next: (v) => (v.errors ? errors.push(v.errors) : seen.push(v.data!.mailboxQuota)), error: (e) => errors.push(e), complete: () => {} },
      );
      return { client, seen, errors };
    };

    it('recalculateQuota measures the Maildir, and mailboxQuota streams the start value and each change', async () => {
      const sub = subscribe();
      await waitFor(async () => sub.seen.length >= 1, 'first value');
      expect(sub.seen[0]).toEqual({ usedBytes: 0, usedMb: 0, limitMb: 1, percent: 0, messages: 0, updatedAt: null });

      await put('new/1.host,S=262144,W=270000', 'x');
      await put('.Sent/cur/2.host,S=262144:2,S', 'x');
      await put('cur/3.host:2,', 'y'.repeat(1000));
      const r = (await t.ok(RECALC, { id: m.id }, tenant.token)).r;
      expect(r).toEqual({ __typename: 'MutationRecalculateQuotaSuccess', mailbox: { id: m.id } });
      const q = await waitFor(async () => sub.seen.find((s) => s.messages === 3), 'measured usage');
      expect(q).toMatchObject({ usedBytes: 262144 * 2 + 1000, usedMb: 0.5, limitMb: 1, percent: 50.1, messages: 3 });
      expect(new Date(q.updatedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect((await state(m.id)).quota).toEqual(q);

      // a new limit is streamed too
      await t.ok(`mutation($id:ID!){ updateMailbox(id:$id, quotaMb:2){ __typename } }`, { id: m.id }, tenant.token);
      await waitFor(async () => sub.seen.find((s) => s.limitMb === 2), 'new limit');
      expect(sub.errors).toEqual([]);
      await sub.client.dispose();
    });

    it('an explicit recalculation is stamped even when nothing changed', async () => {
      const before = (await state(m.id)).quota.updatedAt;
      await new Promise((r) => setTimeout(r, 20));
      await t.ok(RECALC, { id: m.id }, tenant.token);
      const after = await waitFor(async () => {
        const q = (await state(m.id)).quota;
        return q.updatedAt !== before && q;
      }, 'new stamp');
      expect(after.messages).toBe(3);
    });

    it('the scheduled refresh of every mailbox writes only what changed', async () => {
      const boss = t.worker!.boss;
      const schedules = await boss.getSchedules();
      expect(schedules.find((s) => s.name === 'quota-refresh')).toMatchObject({ cron: '*/5 * * * *', data: {} });

      const other = await createMailbox(t, tenant.token, 'other', tenant.domain);
      await ready(other.id);
      const stampOfM = (await state(m.id)).quota.updatedAt;
      await boss.send('quota-refresh', {});
      // `other` was never measured: the refresh stamps it (0 bytes) — and leaves `m` alone.
      await waitFor(async () => (await state(other.id)).quota.updatedAt !== null, 'other measured');
      expect((await state(m.id)).quota.updatedAt).toBe(stampOfM);

      await put('new/4.host,S=1024', 'x');
      await boss.send('quota-refresh', {});
      const q = await waitFor(async () => {
        const s = (await state(m.id)).quota;
        return s.messages === 4 && s;
      }, 'refresh saw the new message');
      expect(q.usedBytes).toBe(262144 * 2 + 1000 + 1024);
      expect(q.updatedAt).not.toBe(stampOfM);
    });

    it('a mailbox of another tenant cannot be watched or recalculated', async () => {
      const other = await createTenant(t);
      const r = (await t.ok(RECALC, { id: m.id }, other.token)).r;
      expect(r.__typename).toBe('NotFoundError');
      const client = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${other.token}` }, retryAttempts: 0 });
      const err = await new Promise<unknown>((resolve) => {
        client.subscribe({ query: `subscription($id:ID!){ mailboxQuota(mailboxId:$id){ usedBytes } }`, variables: { id: m.id } }, {
          next: (v) => resolve(v.errors ?? v.data),
          error: resolve,
          complete: () => resolve(null),
        });
      });
      expect(JSON.stringify(err)).toContain('Mailbox not found');
      await client.dispose();
    });

    it('the subscription ends when the mailbox is deleted', async () => {
      const sub = subscribe();
      let completed = false;
      const client2 = createClient({ url: t.app.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tenant.token}` }, retryAttempts: 0 });
      const done = new Promise<void>((resolve) => {
        client2.subscribe({ query: `subscription($id:ID!){ mailboxQuota(mailboxId:$id){ usedBytes } }`, variables: { id: m.id } }, {
          next: () => {},
          error: () => resolve(),
          complete: () => {
            completed = true;
            resolve();
          },
        });
      });
      await waitFor(async () => sub.seen.length >= 1, 'first value');
      success((await t.ok(`mutation($id:ID!){ r: deleteMailbox(id:$id){ ... on MutationDeleteMailboxSuccess { deletedId } } }`, { id: m.id }, tenant.token)).r, 'deletedId');
      await done;
      expect(completed).toBe(true);
      await sub.client.dispose();
      await client2.dispose();
    });
  });
});
