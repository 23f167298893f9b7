// Issue 16, alias domains in a real browser: on the Domains page an admin adds an alias domain to a
// domain's row (typed in Unicode), sees it listed as "alias of …" with its A-label, gets the
// package's domain limit and a taken name as messages in the dialog, and deletes the alias.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, fieldError, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');

let browser: Browser;
let admin: Page;
let api: Api;

const row = (page: Page, name: string) => page.locator(`tr[data-domain="${name}"]`);

beforeAll(async () => {
  api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Alias test', { maxDomains: 2 });
  const customer = await api.createCustomer('Alias Kunde', pkg);
  await api.createDomain('alias-target.test', customer);
  browser = await launch(app.url);
  admin = await browser.newPage();
  await login(admin, app.admin.email, app.admin.password);
});


afterAll(async () => {
  await browser?.close();
});

describe('alias domains on the Domains page (issue 16)', () => {
  test('add an alias domain from the target\'s row: listed as its alias; a taken name and the domain limit are said in the dialog; delete it', async () => {
    await visit(admin, '/domains?q=alias');
    await row(admin, 'alias-target.test').getByRole('button', { name: 'Add an alias domain to alias-target.test' }).click();
    const dialog = admin.getByRole('dialog');
    // A taken name, next to the field.
    await dialog.getByLabel('Alias domain name').fill('alias-target.test');
    await dialog.getByRole('button', { name: 'Add alias domain' }).click();
    expect(await fieldError(admin, 'Alias domain name')).toContain('alias-target.test is already in use');

    await dialog.getByLabel('Alias domain name').fill('Grün-Alias.TEST');
    await dialog.getByRole('button', { name: 'Add alias domain' }).click();
    const alias = row(admin, 'grün-alias.test');
    await alias.waitFor();
    await expectText(alias.getByTestId('alias-of'), 'alias of alias-target.test');
    await expectText(alias.locator('td[data-label="Domain"]'), 'xn--grn-alias-r9a.test');
    // An alias domain gets no alias of its own, and moves only with its target.
    expect(await alias.getByRole('button', { name: /Add an alias domain/ }).count()).toBe(0);
    expect(await alias.getByRole('button', { name: /Move .* to another customer/ }).count()).toBe(0);
    await screenshot(admin, 'alias-domains');

    // The package allows 2 domains: the target and this alias.
    await row(admin, 'alias-target.test').getByRole('button', { name: 'Add an alias domain to alias-target.test' }).click();
    await dialog.getByLabel('Alias domain name').fill('third.test');
    await dialog.getByRole('button', { name: 'Add alias domain' }).click();
    await expectText(dialog.locator('.form-error'), 'Your package allows 2 domains');
    await dialog.getByRole('button', { name: 'Cancel' }).click();

    await alias.getByRole('button', { name: 'Delete grün-alias.test' }).click();
    await dialog.getByRole('button', { name: 'Delete alias domain' }).click();
    await expect.poll(() => alias.count()).toBe(0);
    await expect.poll(() => row(admin, 'alias-target.test').count()).toBe(1);
  });
});
