// IMAP migration in the browser: a real source Dovecot on loopback (the mail-stack suite's
// startSourceDovecot) seeded over IMAP, the panel's native copier writing the target Maildir (the
// embedded default), and the live view following migrationProgress over graphql-ws.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startSourceDovecot, type SourceDovecot } from '../mailstack/source-dovecot.js';
import { imap, message, seed, SOURCE_PASSWORD, SOURCE_USER, type SeedSpec } from '../mailstack/migration-fixtures.js';
import { Api } from './api.js';
import { expectText, fieldError, lastSessionAt, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const FOLDERS: Record<string, number> = { INBOX: 600, 'Sent Messages': 150, 'Archive.2024': 250 };
const TOTAL = Object.values(FOLDERS).reduce((a, b) => a + b, 0);

let source: SourceDovecot;
let browser: Browser;
let admin: Page;
let api: Api;
let second: { id: string; address: string };

async function seedSource(port: number) {
  // One IMAP connection per folder, in parallel.
  await Promise.all(
    Object.entries(FOLDERS).map(async ([folder, n]) => {
      const c = imap(port, SOURCE_USER, SOURCE_PASSWORD);
      await c.connect();
      const items: SeedSpec[] = Array.from({ length: n }, (_, i) => ({ folder, raw: message({ subject: `${folder} ${i}` }), flags: i % 3 ? ['\\Seen'] : [] }));
      await seed(c, items);
      await c.logout();
    }),
  );
}

/** Reloads only when the access token is far from its refresh (more than 12 s of its life left, judged
 *  by when the tab last got a session), so what the test sees after the load is the page and not a
 *  refresh (one interrupted mid-flight is accepted again within REFRESH_REUSE_GRACE_SECONDS:
 *  api/test/auth.test.ts). */
async function safeReload(page: Page) {
  await expect
    .poll(() => app.accessTokenTtlSeconds * 1000 - (Date.now() - (lastSessionAt(page) ?? 0)), { timeout: 40_000, interval: 250 })
    .toBeGreaterThan(12_000);
  await page.reload();
}

async function percent(page: Page): Promise<number> {
  const text = (await page.getByTestId('migration-percent').textContent({ timeout: 1_000 }).catch(() => null)) ?? '';
  const n = Number.parseInt(text, 10);
  return Number.isNaN(n) ? -1 : n;
}

beforeAll(async () => {
  source = await startSourceDovecot({ users: [{ user: SOURCE_USER, password: SOURCE_PASSWORD }] });
  await seedSource(source.port);
  api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Migration test', { maxMailboxes: 10 });
  const customer = await api.createCustomer('Movers Ltd', pkg);
  await api.createDomain('movers.test', customer);
  await api.createMailbox('new', 'movers.test', 'Owner-pass-1', 500);
  second = await api.createMailbox('second', 'movers.test', 'Owner-pass-2', 500);
  browser = await launch(app.url);
  admin = await browser.newPage();
  await login(admin, app.admin.email, app.admin.password);
});


afterAll(async () => {
  await browser?.close();
  await source?.stop();
});

describe('IMAP migration', () => {
  test('tests the connection: a wrong password shows next to the field, then the folders and sizes', async () => {
    await visit(admin, '/mailboxes?q=new%40movers.test');
    await admin.getByRole('button', { name: 'More actions for new@movers.test' }).click();
    await admin.getByRole('link', { name: 'Migrate mail into new@movers.test' }).click();
    await admin.getByRole('heading', { name: 'Import mail from another server' }).waitFor();
    expect(await admin.getByLabel('Port').inputValue()).toBe('993');
    await admin.getByLabel('STARTTLS').check();
    expect(await admin.getByLabel('Port').inputValue()).toBe('143');
    await admin.getByLabel('None (unencrypted)').check();
    await admin.getByLabel('IMAP server').fill('127.0.0.1');
    await admin.getByLabel('Port').fill(String(source.port));
    await admin.getByLabel('Username').fill(SOURCE_USER);
    await admin.getByLabel('Password', { exact: true }).fill('not-the-password');
    await admin.getByRole('button', { name: 'Test connection' }).click();
    expect(await fieldError(admin, 'Password')).toContain('rejected the username or password');
    // After a failed test, Start waits for an explicit "start anyway" for the same settings.
    const start = admin.getByRole('button', { name: 'Start migration' });
    expect(await start.isDisabled()).toBe(true);
    await admin.getByLabel(/Start anyway/).check();
    expect(await start.isDisabled()).toBe(false);
    await admin.getByLabel(/Start anyway/).uncheck();

    // The target is chosen by typing: the API searches, nothing is picked by default.
    const target = admin.getByLabel('Target mailbox');
    expect(await target.inputValue()).toBe('new@movers.test');
    await target.fill('second@mov');
    await admin.getByRole('option', { name: 'second@movers.test' }).waitFor();
    expect(await admin.getByRole('option').count()).toBe(1);
    await target.press('Enter');
    expect(await target.inputValue()).toBe('second@movers.test');
    await target.fill('new@');
    await admin.getByRole('option', { name: 'new@movers.test' }).click();
    expect(await target.inputValue()).toBe('new@movers.test');

    await admin.getByLabel('Password', { exact: true }).fill(SOURCE_PASSWORD);
    await admin.getByRole('button', { name: 'Test connection' }).click();
    const preview = admin.getByTestId('connection-preview');
    await expectText(preview, `${TOTAL.toLocaleString('en-GB')} messages`);
    await expectText(preview, 'Sent Messages');
    await expectText(preview, 'Archive/2024');
    expect(await admin.getByLabel('Target mailbox').inputValue()).toBe('new@movers.test');
    expect(await admin.getByRole('button', { name: 'Start migration' }).isDisabled()).toBe(false);
    await screenshot(admin, '20-migration-test-connection');
  });

  test('starts a migration and watches the progress bar reach 100 % without reloading, the same in two tabs', async () => {
    let navigations = 0;
    await admin.getByRole('button', { name: 'Start migration' }).click();
    await admin.waitForURL(/\/migrations\/[^/?]+$/);
    admin.on('framenavigated', (f) => {
      if (f === admin.mainFrame()) navigations++;
    });
    const url = new URL(admin.url()).pathname;

    // Watch the bar from the moment the view opens (the copy takes a few seconds), while the
    // mailbox owner logs in and follows the same migration in a second tab.
    const seen: number[] = [];
    const watching = (async () => {
      let midShot = false;
      for (const until = Date.now() + 90_000; Date.now() < until; ) {
        const p = await percent(admin);
        if (p >= 0 && seen.at(-1) !== p) seen.push(p);
        if (!midShot && p >= 15 && p <= 85) {
          await screenshot(admin, '21-migration-live');
          midShot = true;
        }
        if (p === 100) break;
        await admin.waitForTimeout(100);
      }
    })();
    const owner = await browser.newPage();
    await login(owner, 'new@movers.test', 'Owner-pass-1');
    await visit(owner, url);
    await owner.getByTestId('migration-overall').waitFor();
    await watching;
    expect(seen.at(-1), `percentages seen: ${seen.join(', ')}`).toBe(100);
    expect(seen.some((p) => p < 100), `percentages seen: ${seen.join(', ')}`).toBe(true);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // monotonic
    expect(navigations).toBe(0);
    await expectText(admin.getByTestId('migration-status'), 'Finished');
    await expectText(admin.getByTestId('migration-copied'), TOTAL.toLocaleString('en-GB'));
    for (const folder of Object.keys(FOLDERS)) await expectText(admin.locator(`tr[data-folder="${folder}"]`), 'done');
    // SUCCEEDED means verified: the panel says so, folder by folder.
    await expectText(admin.getByTestId('migration-verification'), 'every folder holds every source message');
    await expectText(admin.locator('tr[data-folder="INBOX"]'), `${FOLDERS.INBOX} / ${FOLDERS.INBOX}`);

    // The second tab shows the same numbers.
    await expectText(owner.getByTestId('migration-percent'), '100 %');
    await expectText(owner.getByTestId('migration-copied'), TOTAL.toLocaleString('en-GB'));
    await screenshot(admin, '22-migration-finished');
    await owner.close();

    // It survives a reload: the page reads the migration again.
    await safeReload(admin);
    await expectText(admin.getByTestId('migration-percent'), '100 %');
    await expectText(admin.getByTestId('migration-status'), 'Finished');
  });

  test('runs again and adds nothing (every message is already there)', async () => {
    await admin.getByRole('button', { name: 'Run again' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Run the migration again' });
    await dialog.getByLabel(`Password of ${SOURCE_USER}`).fill(SOURCE_PASSWORD);
    await dialog.getByRole('button', { name: 'Start again' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(admin.getByTestId('migration-status'), 'Finished', 60_000);
    await expectText(admin.getByTestId('migration-overall'), /Already there\s*1,000/);
    await expectText(admin.getByTestId('migration-copied'), /^0$/);
    await expectText(admin.getByTestId('migration-overall'), 'run 2');
  });

  test('a source that refuses connections: the view shows attempt n of m, the next retry, the give-up time and the last error while it waits', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const { r } = await api.gql<{ r: { __typename: string; migration?: { id: string } } }>(
      `mutation($m: ID!, $s: ImapSourceInput!) { r: startMigration(mailboxId: $m, source: $s) { __typename ... on MutationStartMigrationSuccess { migration { id } } } }`,
      { m: second.id, s: { host: '127.0.0.1', port: closedPort, security: 'NONE', username: SOURCE_USER, password: SOURCE_PASSWORD } },
    );
    expect(r.__typename).toBe('MutationStartMigrationSuccess');
    const pageErrors: string[] = [];
    admin.on('pageerror', (e) => pageErrors.push(e.message));
    admin.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
    await visit(admin, '/migrations');
    // The list already tells: waiting to retry, attempt n of m, the last error in words.
    const listed = admin.locator(`tr[data-migration="${r.migration!.id}"]`);
    await expectText(listed, /Waiting to retry · Attempt [1-7] of 7 · next retry at \d/, 30_000);
    await expectText(listed.getByTestId('migration-row-error'), /Last error:.*refused the connection/);
    await listed.getByRole('link').click();
    await expectText(admin.getByTestId('migration-overall'), 'Waiting to retry');
    // …and when it gives up: the start of the last attempt, after every remaining pause.
    await expectText(admin.getByTestId('migration-attempt'), /Attempt [1-7] of 7 · next retry at \d.* · gives up if the try at \d.* fails too/, 30_000).catch((e) => {
      throw new Error(`${e.message}\npage errors: ${pageErrors.join(' | ')}`);
    });
    await expectText(admin.getByTestId('migration-overall'), /Last error:.*refused the connection/);
    await screenshot(admin, '24-migration-waiting-to-retry');
    await admin.getByRole('button', { name: 'Cancel migration' }).click();
    await admin.getByRole('dialog', { name: 'Cancel this migration?' }).getByRole('button', { name: 'Cancel migration' }).click();
    await expectText(admin.getByTestId('migration-status'), 'Cancelled', 60_000);
    // Cancelled is final: nothing speaks of retrying any more.
    expect(await admin.getByTestId('migration-overall').textContent()).not.toMatch(/next retry|retrying|Waiting to retry/i);
  });

  test('cancels a queued migration', async () => {
    // One migration at a time (MIGRATION_CONCURRENCY=1): a running one keeps the next queued.
    const { r } = await api.gql<{ r: { __typename: string; migration?: { id: string } } }>(
      `mutation($m: ID!, $s: ImapSourceInput!) { r: startMigration(mailboxId: $m, source: $s) { __typename ... on MutationStartMigrationSuccess { migration { id } } } }`,
      { m: second.id, s: { host: '127.0.0.1', port: source.port, security: 'NONE', username: SOURCE_USER, password: SOURCE_PASSWORD } },
    );
    expect(r.__typename).toBe('MutationStartMigrationSuccess');
    await visit(admin, '/migrations');
    await admin.locator(`tr[data-migration="${r.migration!.id}"]`).getByRole('link').click();
    await admin.getByRole('button', { name: 'Cancel migration' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Cancel this migration?' });
    await expectText(dialog, 'Messages already copied stay');
    await dialog.getByRole('button', { name: 'Cancel migration' }).click();
    await expectText(admin.getByTestId('migration-status'), 'Cancelled', 60_000);
    await admin.getByRole('button', { name: 'Retry' }).waitFor();
    await visit(admin, '/migrations');
    await expectText(admin.locator(`tr[data-migration="${r.migration!.id}"]`), 'Cancelled');
    await screenshot(admin, '23-migrations-list');
  });
});
