// Keep in sync until cut-over, in the browser: the start form's "Keep in sync until I finish" option
// (with its interval, refused next to the field when out of range), the migration view showing the
// last sync and what it copied — updated live when new mail at the source is copied by the next sync —
// the next sync, and "Finish (cut over)" with its confirmation ending the migration verified. A real
// source Dovecot on loopback; the worker writes the target Maildir (the embedded default). The
// suite's MIGRATION_SYNC_MINUTE_SECONDS=1 makes the interval of 5 a sync every 5 s.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startSourceDovecot, type SourceDovecot } from '../mailstack/source-dovecot.js';
import { imap, message, seed, SOURCE_PASSWORD, SOURCE_USER } from '../mailstack/migration-fixtures.js';
import { Api } from './api.js';
import { expectText, fieldError, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const FIRST = 20;

let source: SourceDovecot;
let browser: Browser;
let admin: Page;
let api: Api;
let target: { id: string; address: string };

beforeAll(async () => {
  source = await startSourceDovecot({ users: [{ user: SOURCE_USER, password: SOURCE_PASSWORD }] });
  const c = imap(source.port, SOURCE_USER, SOURCE_PASSWORD);
  await c.connect();
  await seed(c, Array.from({ length: FIRST }, (_, i) => ({ folder: 'INBOX', raw: message({ subject: `before cut-over ${i}` }), flags: ['\\Seen'] })));
  await c.logout();
  api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Sync test', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Domain Movers', pkg);
  await api.createDomain('moving.test', customer);
  target = await api.createMailbox('moved', 'moving.test', 'Moved-pass-1', 200);
  browser = await launch(app.url);
  admin = await browser.newPage();
  await login(admin, app.admin.email, app.admin.password);
});

afterAll(async () => {
  await browser?.close();
  await source?.stop();
});

describe('keep-in-sync migration', () => {
  test('starts in sync mode, shows the last sync and the next, copies new mail live, and finishes on confirmation', async () => {
    await visit(admin, `/migrations/new?mailbox=${encodeURIComponent(target.id)}`);
    await admin.getByRole('heading', { name: 'Import mail from another server' }).waitFor();
    await admin.getByLabel('None (unencrypted)').check();
    await admin.getByLabel('IMAP server').fill('127.0.0.1');
    await admin.getByLabel('Port').fill(String(source.port));
    await admin.getByLabel('Username').fill(SOURCE_USER);
    await admin.getByLabel('Password', { exact: true }).fill(SOURCE_PASSWORD);
    await admin.getByLabel(/Keep in sync until I finish/).check();
    const interval = admin.getByLabel('Sync every (minutes)');
    expect(await interval.inputValue()).toBe('15');
    await interval.fill('2');
    await admin.getByRole('button', { name: 'Start migration' }).click();
    expect(await fieldError(admin, 'Sync every (minutes)')).toContain('between 5 and 1440');
    await interval.fill('5');
    await admin.getByRole('button', { name: 'Start migration' }).click();
    await admin.waitForURL(/\/migrations\/[^/?]+$/);
    const id = decodeURIComponent(new URL(admin.url()).pathname.split('/').pop()!);

    // The first copy done: keeping in sync, what it copied, when the next sync runs.
    await expectText(admin.getByTestId('migration-status'), 'Keeping in sync', 60_000);
    const sync = admin.getByTestId('migration-sync');
    await expectText(sync, new RegExp(`Last sync .*: ${FIRST} messages \\(`), 30_000);
    await expectText(sync, 'every 5 min');
    await expectText(admin.getByTestId('migration-next-sync'), /Next sync \d/);
    await expectText(admin.getByTestId('migration-verification'), 'every folder holds every source message');
    await screenshot(admin, '25-migration-syncing');

    // New mail at the old server: the next sync copies exactly that, and the view follows without a reload.
    let navigations = 0;
    admin.on('framenavigated', (f) => {
      if (f === admin.mainFrame()) navigations++;
    });
    const c = imap(source.port, SOURCE_USER, SOURCE_PASSWORD);
    await c.connect();
    await c.append('INBOX', message({ subject: 'arrived during the DNS change 1' }), []);
    await c.append('INBOX', message({ subject: 'arrived during the DNS change 2' }), []);
    await c.logout();
    await expectText(sync, /Last sync .*: 2 messages \(/, 30_000);
    await expectText(admin.getByTestId('migration-copied'), String(FIRST + 2));
    expect(navigations).toBe(0);

    // The list shows it too.
    await visit(admin, '/migrations');
    const row = admin.locator(`tr[data-migration="${id}"]`);
    await expectText(row, 'Keeping in sync');
    await expectText(row.getByTestId('migration-row-sync'), /Last sync .*: (0|2) messages/);
    await row.getByRole('link').click();

    // Finish (cut over): confirmed in a dialog, then one last sync, verified, finished.
    await admin.getByRole('button', { name: 'Finish (cut over)' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Finish and cut over?' });
    await expectText(dialog, 'One last sync');
    await dialog.getByRole('button', { name: 'Finish (cut over)' }).click();
    await expectText(admin.getByTestId('migration-status'), 'Finished', 60_000);
    await expectText(admin.getByTestId('migration-verification'), 'every folder holds every source message');
    await expectText(admin.getByTestId('migration-copied'), String(FIRST + 2));
    // The last sync is counted: the first copy, the one with the new mail (and any quiet ones), the last.
    await expectText(admin.getByTestId('migration-sync'), /Last sync .*: 0 messages \(0 B\) · ([3-9]|\d{2,}) syncs · every 5 min/);
    expect(await admin.getByRole('button', { name: 'Finish (cut over)' }).count()).toBe(0);
    expect(await admin.getByTestId('migration-next-sync').count()).toBe(0);
    await screenshot(admin, '26-migration-sync-finished');
  });
});
