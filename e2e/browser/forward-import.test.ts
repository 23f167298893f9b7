// Forwards CSV in a real browser: the Import page (the same component as the mailboxes') previews a
// file's problems beside their rows, applies the fixed file in one go, and Export CSV on the forwards
// list downloads the forwards the list shows, in the format importForwards reads (docs/bulk.md).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, launch, login, visit, type Browser } from './browser.js';

const app = inject('app');
const DOMAIN = 'fwd-csv.test';

let browser: Browser;
let page: Page;
let api: Api;

beforeAll(async () => {
  api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Fwd CSV', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Fwd CSV Kunde', pkg);
  await api.createUser('owner@fwd-csv.test', 'customer-pass-1', customer);
  await api.createDomain(DOMAIN, customer);
  await api.login('owner@fwd-csv.test', 'customer-pass-1');
  await api.createForward(`sales@${DOMAIN}`, ['someone@example.org']);
  browser = await launch(app.url);
  page = await browser.newPage();
  await login(page, 'owner@fwd-csv.test', 'customer-pass-1');
});

afterAll(async () => {
  await browser?.close();
});

describe('forwards CSV', () => {
  test('Import: errors beside their rows → fix → apply → the forwards exist', { timeout: 90_000 }, async () => {
    await visit(page, '/forwards');
    await page.getByRole('link', { name: 'Import CSV' }).click();
    await page.waitForURL('**/forwards/import');
    const row = (line: number) => page.locator(`[data-testid="import-row"][data-line="${line}"]`);

    await page.getByLabel('Or paste the CSV').fill(`source,destinations\ninfo@${DOMAIN},anna@example.org bob@example.org\nhelp@${DOMAIN},not-an-address\n`);
    await page.getByRole('button', { name: 'Check file' }).click();
    await expectText(page.getByTestId('import-summary'), '1 row has a problem');
    await expectText(row(2).locator('td').nth(2), 'Create');
    await row(3).locator('[data-testid="row-error"][data-field="destinations"]').waitFor();
    expect(await page.getByTestId('import-start').isDisabled()).toBe(true);

    await page.getByLabel('Or paste the CSV').fill(`source,destinations\ninfo@${DOMAIN},anna@example.org bob@example.org\nhelp@${DOMAIN},carla@example.org\n`);
    await page.getByRole('button', { name: 'Check file' }).click();
    await expectText(page.getByTestId('import-summary'), 'Ready: 2 to create, 0 to update, 0 unchanged');
    await page.getByTestId('import-start').click();
    await expectText(page.getByTestId('import-progress').locator('h2'), 'Import finished', 30_000);
    await expectText(page.getByTestId('import-counts'), '2 of 2 rows · 2 created');

    const listed = await api.gql<any>(`{ forwards(first: 10, filter: { search: "${DOMAIN}" }) { edges { node { source destinations } } } }`);
    const bySource = Object.fromEntries(listed.forwards.edges.map((e: any) => [e.node.source, [...e.node.destinations].sort()]));
    expect(bySource).toMatchObject({ [`info@${DOMAIN}`]: ['anna@example.org', 'bob@example.org'], [`help@${DOMAIN}`]: ['carla@example.org'] });
  });

  test('Export CSV on the forwards list downloads the forwards', { timeout: 90_000 }, async () => {
    await visit(page, '/forwards');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-forwards').click()]);
    expect(download.suggestedFilename()).toBe('forwards.csv');
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toContain(`sales@${DOMAIN}`);
    expect(text).toContain('someone@example.org');
  });
});
