// Bulk migration in the browser (issue 16): a CSV chosen in the file picker, the dry-run preview with
// its per-row errors, then the live table of one bulk following bulkMigrationProgress over graphql-ws
// — two rows from a real source Dovecot finish, a row whose source refuses connections shows its
// error while it waits to retry — and cancel all / retry of one row from the table.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { freePort } from '../../test/free-port.js';
import type { Page } from 'playwright-core';
import { startSourceDovecot, type SourceDovecot } from '../mailstack/source-dovecot.js';
import { imap, message, seed } from '../mailstack/migration-fixtures.js';
import { Api } from './api.js';
import { expectText, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const USERS = [
  { user: 'ada@old.test', password: 'Ada-src-pass-1', messages: 40 },
  { user: 'bob@old.test', password: 'Bob-src-pass-2', messages: 60 },
];

let source: SourceDovecot;
let browser: Browser;
let page: Page;
let boxes: { id: string; address: string }[];
let deadPort: number;

async function chooseCsv(p: Page, label: string, text: string) {
  await p.getByLabel(label, { exact: true }).setInputFiles({ name: 'movers.csv', mimeType: 'text/csv', buffer: Buffer.from(text) });
}

beforeAll(async () => {
  source = await startSourceDovecot({ users: USERS.map(({ user, password }) => ({ user, password })) });
  for (const u of USERS) {
    const c = imap(source.port, u.user, u.password);
    await c.connect();
    await seed(c, Array.from({ length: u.messages }, (_, i) => ({ folder: 'INBOX', raw: message({ subject: `${u.user} ${i}` }) })));
    await c.logout();
  }
  deadPort = await freePort();
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Bulk movers', { maxMailboxes: 10 });
  const customer = await api.createCustomer('Bulk Movers', pkg);
  await api.createDomain('bulk-movers.test', customer);
  boxes = [];
  for (const name of ['ada', 'bob', 'cy']) boxes.push(await api.createMailbox(name, 'bulk-movers.test', `${name}-Owner-pass-1`, 500));
  browser = await launch(app.url);
  page = await browser.newPage();
  await login(page, app.admin.email, app.admin.password);
});

afterAll(async () => {
  await browser?.close();
  await source?.stop();
});

describe('bulk migration', () => {
  test('the preview shows each bad row with its problem, and offers no start', async () => {
    await visit(page, '/migrations');
    await page.getByRole('link', { name: 'Bulk migration (CSV)' }).click();
    await page.getByRole('heading', { name: 'Upload a CSV' }).waitFor();
    await chooseCsv(
      page,
      'CSV file',
      ['address,host,port,security,username,password', `${boxes[0]!.address},127.0.0.1,${source.port},NONE,ada@old.test,x`, `nobody@bulk-movers.test,127.0.0.1,99999,NONE,u,p`].join('\n'),
    );
    await page.getByRole('button', { name: 'Check the file' }).click();
    const preview = page.getByTestId('bulk-preview');
    await expectText(preview, '1 of 2 rows ready, 1 with problems');
    const bad = preview.locator('tr[data-line="3"]');
    await expectText(bad, 'Mailbox: No such mailbox');
    await expectText(bad, 'Port: Port must be between 1 and 65535');
    await expectText(preview.locator('tr[data-line="2"]'), 'OK');
    expect(await page.getByTestId('bulk-start').count()).toBe(0);
  });

  test('the live table: two rows finish, the dead source shows its error; cancel all, retry one row', async () => {
    const csv = [
      'address,host,port,security,username,password',
      `${boxes[0]!.address},127.0.0.1,${source.port},NONE,${USERS[0]!.user},${USERS[0]!.password}`,
      `${boxes[1]!.address},127.0.0.1,${source.port},NONE,${USERS[1]!.user},${USERS[1]!.password}`,
      `${boxes[2]!.address},localhost,${deadPort},NONE,cy@old.test,Cy-src-pass-3`,
    ].join('\n');
    await visit(page, '/migrations/bulk');
    await chooseCsv(page, 'CSV file', csv);
    await page.getByRole('button', { name: 'Check the file' }).click();
    await expectText(page.getByTestId('bulk-preview'), '3 of 3 rows ready');
    await page.getByTestId('bulk-start').click();
    await page.getByRole('heading', { name: 'movers.csv' }).waitFor();

    // Live, with no reload: the summary and the rows move by the subscription alone.
    const summary = page.getByTestId('bulk-summary');
    const row = (address: string) => page.locator(`tr[data-address="${address}"]`);
    await expectText(summary.locator('[data-count="succeeded"]'), '2 finished', 90_000);
    await expectText(row(boxes[0]!.address).getByTestId('migration-row-status'), 'Finished');
    await expectText(row(boxes[1]!.address), `100 % · ${USERS[1]!.messages} copied`);
    await expectText(row(boxes[2]!.address).getByTestId('migration-row-error'), /Last error: .*refused the connection/, 60_000);
    await screenshot(page, 'bulk-migration-live');

    await page.getByRole('button', { name: 'Cancel all' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel all' }).click();
    await expectText(summary.locator('[data-count="cancelled"]'), '1 cancelled');
    await expectText(row(boxes[2]!.address).getByTestId('migration-row-status'), 'Cancelled');
    await page.getByRole('button', { name: 'Retry failed' }).waitFor();

    await page.getByRole('button', { name: `Retry the migration into ${boxes[2]!.address}` }).click();
    await page.getByLabel('Password of cy@old.test on localhost').fill('Cy-src-pass-3');
    await page.getByRole('dialog').getByRole('button', { name: 'Retry' }).click();
    await expectText(row(boxes[2]!.address).getByTestId('migration-row-status'), /Queued|Running/);
    await expectText(summary.locator('[data-count="cancelled"]'), '0 cancelled');

    // Leave nothing running for the other files: cancel the row again from the table.
    await page.getByRole('button', { name: `Cancel the migration into ${boxes[2]!.address}` }).click();
    await expectText(row(boxes[2]!.address).getByTestId('migration-row-status'), 'Cancelled', 30_000);
    expect(await page.content()).not.toContain(USERS[0]!.password);
  });
});
