// A list's state lives in its URL: search, filter, sort and page survive a reload, "back" undoes
// them one by one, and the same link opened in another browser shows the same rows.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, launch, login, visit, type Browser } from './browser.js';

const app = inject('app');
let browser: Browser;
let page: Page;

const firstAddress = (p: Page) => p.locator('tbody tr').first().getAttribute('data-address');
const rowCount = (p: Page) => p.locator('tbody tr').count();
const param = (p: Page, name: string) => new URL(p.url()).searchParams.getAll(name);

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('List state test');
  const customer = await api.createCustomer('Liststate GmbH', pkg);
  await api.createDomain('liststate.test', customer);
  await api.createDomain('other-liststate.test', customer);
  // 27 in one domain: two pages of 25; three in the other.
  for (let i = 0; i < 27; i++) await api.createMailbox(`box${String(i).padStart(2, '0')}`, 'liststate.test', 'List-state-pass-7', 10);
  for (const name of ['anna', 'bert', 'cleo']) await api.createMailbox(name, 'other-liststate.test', 'List-state-pass-7', 10);
  browser = await launch(app.url);
  page = await browser.newPage();
  await login(page, app.admin.email, app.admin.password);
});

afterAll(async () => {
  await browser?.close();
});

describe('list state in the URL', () => {
  test('search, filter, sort and page survive a reload; back undoes them; the link shows the same rows elsewhere', async () => {
    await visit(page, '/mailboxes');
    await page.getByLabel('Search').fill('liststate.test');
    await expect.poll(() => param(page, 'q')).toEqual(['liststate.test']);
    await expectText(page.locator('.pager-status'), '1–25 of 30 mailboxes');

    // Clearing the search and at once choosing a filter: the cleared search must not come back.
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Domain').selectOption({ label: 'liststate.test' });
    await expect.poll(() => param(page, 'domain')).toHaveLength(1);
    await page.getByLabel('Status').selectOption('ACTIVE');
    await expect.poll(() => param(page, 'q')).toEqual([]);
    await expectText(page.locator('.pager-status'), '1–25 of 27 mailboxes');
    expect(await page.getByLabel('Search').inputValue()).toBe('');

    // Sort descending by address (one click: ascending is the default), then the second page.
    await page.getByRole('button', { name: /^Address/ }).click();
    await expect.poll(() => param(page, 'sort')).toEqual(['-ADDRESS']);
    await expect.poll(() => firstAddress(page)).toBe('box26@liststate.test');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => param(page, 'after').length).toBe(1);
    await expectText(page.locator('.pager-status'), '26–27 of 27 mailboxes');
    expect(await firstAddress(page)).toBe('box01@liststate.test');

    // Reload: the same page of the same rows, the controls showing what is applied.
    const link = page.url();
    await page.reload();
    await expectText(page.locator('.pager-status'), '26–27 of 27 mailboxes');
    await expect.poll(() => firstAddress(page)).toBe('box01@liststate.test');
    expect(await page.getByLabel('Domain').inputValue()).not.toBe('');
    expect(await page.getByLabel('Status').inputValue()).toBe('ACTIVE');
    expect(await page.getByRole('columnheader', { name: /^Address/ }).getAttribute('aria-sort')).toBe('descending');

    // Back: the first page of the same order, then the default order (ascending).
    await page.goBack();
    await expectText(page.locator('.pager-status'), '1–25 of 27 mailboxes');
    await expect.poll(() => firstAddress(page)).toBe('box26@liststate.test');
    await page.goBack();
    await expect.poll(() => param(page, 'sort')).toEqual([]);
    await expect.poll(() => firstAddress(page)).toBe('box00@liststate.test');

    // The link in a second browser (its own login) opens on the same rows.
    const other = await browser.newPage();
    await login(other, app.admin.email, app.admin.password);
    await other.goto(link);
    await expectText(other.locator('.pager-status'), '26–27 of 27 mailboxes');
    await expect.poll(() => firstAddress(other)).toBe('box01@liststate.test');
    await other.close();
  });

  test('a link clicked while the search box is still pausing goes where it leads; the search does not pull the screen back', async () => {
    const tab = await browser.newPage();
    await login(tab, app.admin.email, app.admin.password);
    await visit(tab, '/mailboxes');
    // The next screen's code arrives slowly (a busy server, a slow line), so the navigation is still
    // under way when the box's pause ends.
    await tab.route('**/_app/immutable/**', async (r) => {
      await new Promise((resolve) => setTimeout(resolve, 800));
      await r.continue();
    });
    await tab.getByLabel('Search').fill('box0');
    await visit(tab, '/domains');
    await tab.waitForTimeout(600);
    expect(new URL(tab.url()).pathname).toBe('/domains');
    await tab.getByRole('heading', { name: 'Domains' }).waitFor();
    await tab.close();
  });

  test('a second list on one screen keeps its own parameters (the quarantine beside the security page)', async () => {
    await visit(page, '/domains');
    await page.getByLabel('Search').fill('other-liststate');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    const href = await page.locator('tr[data-domain="other-liststate.test"] a[href^="/security"]').getAttribute('href');
    await visit(page, href!);
    await page.getByLabel('Show').selectOption('RELEASED');
    await expect.poll(() => param(page, 'quarantine-status')).toEqual(['RELEASED']);
    expect(param(page, 'domain')).toHaveLength(1);
    await page.reload();
    expect(await page.getByLabel('Show').inputValue()).toBe('RELEASED');
  });
});
