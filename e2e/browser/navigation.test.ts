// Role-aware navigation in the real panel: each role's sidebar holds only the screens it can use, a
// URL outside the role answers a styled "not found" inside the app's layout (never a management
// screen whose every action fails), and so does any unknown URL — by link and by a full page load.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { launch, login, visit, type Browser } from './browser.js';

const app = inject('app');
const CUSTOMER = { email: 'owner@routes.test', password: 'Routes-Customer-pass-9' };
const OWNER = { email: 'desk@routes.test', password: 'Routes-Owner-pass-9' };

let browser: Browser;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Routes test', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Routes GmbH', pkg);
  await api.createUser(CUSTOMER.email, CUSTOMER.password, customer);
  await api.createDomain('routes.test', customer);
  await api.createMailbox('desk', 'routes.test', OWNER.password, 100);
  browser = await launch(app.url);
});

afterAll(async () => {
  await browser?.close();
});

/** The styled "not found" inside the app: the sidebar is still there, the screen's own heading is not. */
async function expectNotFound(page: Page, pathname: string) {
  const main = page.locator('main');
  await main.getByRole('heading', { name: 'Page not found' }).waitFor();
  expect(await main.textContent()).toContain(pathname);
  expect(await page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(true);
  expect(await main.getByRole('heading').count()).toBe(1);
}

async function navLinks(page: Page): Promise<string[]> {
  const nav = page.getByRole('navigation', { name: 'Main' });
  await nav.getByRole('link').first().waitFor();
  return (await nav.getByRole('link').allTextContents()).map((t) => t.trim());
}

describe('navigation by role', () => {
  test('an administrator: every screen; /admin opens administration; an unknown URL is not found', async () => {
    const page = await browser.newPage();
    await login(page, app.admin.email, app.admin.password);
    expect(await navLinks(page)).toEqual(
      expect.arrayContaining(['Dashboard', 'Mailboxes', 'Forwards', 'Domains', 'Customers', 'Users', 'Hosting packages', 'Audit log']),
    );
    await visit(page, '/admin', '/admin/customers');
    await page.getByRole('heading', { name: 'Customers' }).first().waitFor();
    for (const unknown of ['/no-such-screen', '/admin/nothing-here', '/mailboxes/extra/deep/path']) {
      await visit(page, unknown);
      await expectNotFound(page, unknown);
    }
    await page.goto('/also-unknown');
    await expectNotFound(page, '/also-unknown');

    // A long page scrolled to its end: the sidebar is still in view.
    await visit(page, '/security');
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await expect.poll(() => page.evaluate(() => window.scrollY)).toBeGreaterThan(300);
    const dashboard = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' });
    const box = (await dashboard.boundingBox())!;
    expect(box.y).toBeGreaterThan(0);
    expect(box.y).toBeLessThan(900);
    await page.close();
  });

  test('a customer: no administration; its URLs are not found, not a redirect', async () => {
    const page = await browser.newPage();
    await login(page, CUSTOMER.email, CUSTOMER.password);
    const links = await navLinks(page);
    expect(links).toEqual(expect.arrayContaining(['Dashboard', 'Mailboxes', 'Forwards', 'Domains', 'Email security', 'API tokens', 'Audit log']));
    for (const hidden of ['Customers', 'Users', 'Hosting packages']) expect(links).not.toContain(hidden);
    for (const forbidden of ['/admin', '/admin/customers', '/admin/users', '/admin/packages']) {
      await visit(page, forbidden);
      await expectNotFound(page, forbidden);
    }
    await page.goto('/admin/users');
    await expectNotFound(page, '/admin/users');
    // The screens it has still open.
    await visit(page, '/mailboxes');
    await page.locator('tr[data-address="desk@routes.test"]').waitFor();
    await page.close();
  });

  test('a mailbox owner: its own mailbox as home; management screens are not found', async () => {
    const page = await browser.newPage();
    await login(page, OWNER.email, OWNER.password);
    await page.getByRole('heading', { name: OWNER.email }).waitFor();
    const links = await navLinks(page);
    expect(links).toEqual(expect.arrayContaining(['My mailbox', 'Migrations', 'Activity']));
    for (const hidden of ['Mailboxes', 'Forwards', 'Domains', 'Email security', 'API tokens', 'Customers']) expect(links).not.toContain(hidden);
    for (const forbidden of ['/mailboxes', '/mailboxes/new', '/domains', '/forwards', '/security', '/api-tokens', '/admin', '/admin/users']) {
      await visit(page, forbidden);
      await expectNotFound(page, forbidden);
    }
    await page.goto('/forwards');
    await expectNotFound(page, '/forwards');
    await visit(page, '/migrations');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor({ state: 'detached' });
    await page.close();
  });
});
