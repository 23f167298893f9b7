// Issue 16, bulk import in a real browser: a customer uploads a CSV with mistakes on the Import page,
// the dry-run preview shows each problem beside its row and keeps Start disabled; after fixing the
// text and checking again, the import starts, the live bar reaches 100 %, and the generated passwords
// and the per-row outcomes download as CSV. Export from the mailboxes list has no passwords.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const DOMAIN = 'bulk-ui.test';
const STRONG = 'violet-harbour-sextant-91';

let browser: Browser;
let page: Page;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Bulk UI', { maxMailboxes: 20 });
  const customer = await api.createCustomer('Bulk UI Kunde', pkg);
  await api.createUser('owner@bulk-ui.test', 'customer-pass-1', customer);
  await api.createDomain(DOMAIN, customer);
  browser = await launch(app.url);
  page = await browser.newPage();
  await login(page, 'owner@bulk-ui.test', 'customer-pass-1');
});

afterAll(async () => {
  await browser?.close();
});

const row = (line: number) => page.locator(`[data-testid="import-row"][data-line="${line}"]`);
const downloaded = async (click: () => Promise<void>) => {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), text: readFileSync((await download.path())!, 'utf8') };
};

describe('bulk import page (issue 16)', () => {
  test('upload with errors → preview shows them beside their rows → fix → start → live bar → downloads', { timeout: 120_000 }, async () => {
    await visit(page, '/mailboxes');
    await page.getByRole('link', { name: 'Import CSV' }).click();
    await page.waitForURL('**/mailboxes/import');

    const withErrors = [
      'address,password,quota,status,name',
      `anna@${DOMAIN},${STRONG},100,active,Anna`,
      `bob@${DOMAIN},password1,100,,Bob`,
      `not an address,generate,,,`,
      `carl@${DOMAIN},generate,50,asleep,Carl`,
    ].join('\r\n');
    await page.getByTestId('import-file').setInputFiles({ name: 'team.csv', mimeType: 'text/csv', buffer: Buffer.from(withErrors) });
    await expectText(page.getByTestId('import-summary'), '3 rows have a problem');
    await expectText(row(2).locator('td').nth(2), 'Create');
    await expectText(row(3).locator('[data-testid="row-error"][data-field="password"]'), 'too easy to guess');
    await expectText(row(4).locator('[data-testid="row-error"][data-field="address"]'), 'Use name@domain');
    await expectText(row(5).locator('[data-testid="row-error"][data-field="status"]'), 'Status is active or disabled');
    expect(await page.getByTestId('import-start').isDisabled()).toBe(true);
    await screenshot(page, 'bulk-import-preview-errors');

    // Fix the rows in the text box; a changed text must be checked again before it can start.
    const fixed = [
      'address,password,quota,status,name',
      `anna@${DOMAIN},${STRONG},100,active,Anna`,
      `bob@${DOMAIN},amber-lantern-quartz-72,100,,Bob`,
      `dora@${DOMAIN},generate,,,`,
      `carl@${DOMAIN},generate,50,disabled,Carl`,
    ].join('\n');
    await page.getByLabel('Contents of team.csv').fill(fixed);
    expect(await page.getByTestId('import-start').isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Check file' }).click();
    await expectText(page.getByTestId('import-summary'), 'Ready: 4 to create, 0 to update, 0 unchanged');
    expect(await page.locator('[data-testid="row-error"]').count()).toBe(0);

    await page.getByTestId('import-start').click();
    const bar = page.getByRole('progressbar', { name: 'Import progress' });
    await bar.waitFor();
    await expectText(page.getByTestId('import-progress').locator('h2'), 'Import finished', 60_000);
    expect(await bar.getAttribute('aria-valuenow')).toBe('100');
    await expectText(page.getByTestId('import-counts'), '4 of 4 rows · 4 created · 0 updated · 0 unchanged · 0 failed');
    await screenshot(page, 'bulk-import-finished');

    // The generated passwords, once, as a file: dora and carl.
    const passwords = await downloaded(() => page.getByTestId('download-passwords').click());
    expect(passwords.name).toBe('generated-passwords.csv');
    const lines = passwords.text.trim().split(/\r\n/);
    expect(lines[0]).toBe('address,password');
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual([`carl@${DOMAIN}`, `dora@${DOMAIN}`]);
    // They log in (the panel accepts the mailbox address with its password).
    const dora = lines.find((l) => l.startsWith('dora@'))!.split(',')[1]!;
    await new Api(app.url).login(`dora@${DOMAIN}`, dora);

    const outcomes = await downloaded(() => page.getByTestId('download-outcomes').click());
    expect(outcomes.text).toContain(`2,anna@${DOMAIN},CREATE,`);
    expect(outcomes.text).toContain(`5,carl@${DOMAIN},CREATE,`);
    expect(outcomes.text).not.toContain(dora);

    // Export from the list: the imported mailboxes, no password.
    await visit(page, '/mailboxes');
    const exported = await downloaded(() => page.getByTestId('export-mailboxes').click());
    expect(exported.text.split('\r\n')[0]).toBe('address,quota,status,name');
    expect(exported.text).toContain(`carl@${DOMAIN},50,disabled,Carl`);
    expect(exported.text).not.toContain(dora);
    expect(exported.text).not.toContain(STRONG);
  });
});
