// Issue 12, item 6 in a real browser: an internationalised domain is typed, listed and searched in
// Unicode (bücher.test), its A-label (what DNS zones need) shown beside it; its mailboxes and forwards
// show Unicode addresses, are found by either form, and the owner logs in with the A-label address.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, fieldError, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const CUSTOMER = 'Bücherstube Köln';

let browser: Browser;
let admin: Page;
let api: Api;

const row = (page: Page, attr: string, value: string) => page.locator(`tr[${attr}="${value}"]`);

beforeAll(async () => {
  api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('IDN test', { maxDomains: 3, maxMailboxes: 5, maxForwards: 5 });
  await api.createCustomer(CUSTOMER, pkg);
  browser = await launch(app.url);
  admin = await browser.newPage();
  await login(admin, app.admin.email, app.admin.password);
});


afterAll(async () => {
  await browser?.close();
});

describe('internationalised domains in the panel (issue 12)', () => {
  test('a domain typed in Unicode is listed as bücher.test with its A-label beside it, and found by either form', async () => {
    await visit(admin, '/domains');
    await admin.getByLabel('Domain name').fill('Bücher.TEST');
    await admin.getByLabel('Owning customer').selectOption({ label: CUSTOMER });
    await admin.getByRole('button', { name: 'Add domain' }).click();
    const listed = row(admin, 'data-domain', 'bücher.test');
    await listed.waitFor();
    await expectText(listed.locator('td[data-label="Domain"] strong'), /^bücher\.test$/);
    await expectText(listed.locator('td[data-label="Domain"]'), 'xn--bcher-kva.test');
    await screenshot(admin, 'idn-domains');

    // The same domain typed as its A-label is a duplicate, said next to the field.
    await admin.getByLabel('Domain name').fill('xn--bcher-kva.test');
    await admin.getByRole('button', { name: 'Add domain' }).click();
    expect(await fieldError(admin, 'Domain name')).toContain('bücher.test is already in use');
    // An invalid IDN, likewise.
    await admin.getByLabel('Domain name').fill('xn--zz.test');
    await admin.getByRole('button', { name: 'Add domain' }).click();
    expect(await fieldError(admin, 'Domain name')).toContain('Not a valid domain name');

    for (const term of ['xn--bcher', 'büch']) {
      await admin.getByLabel('Search').fill(term);
      await row(admin, 'data-domain', 'bücher.test').waitFor();
      await expect.poll(() => admin.locator('tbody tr').count()).toBe(1);
    }
  });

  test('mailboxes and forwards show Unicode addresses, are found by either form, and the owner logs in with the A-label', async () => {
    await api.createMailbox('info', 'xn--bcher-kva.test', 'Mailbox-pass1', 100);
    await api.createForward('team@bücher.test', ['info@xn--bcher-kva.test']);

    await visit(admin, `/mailboxes?q=${encodeURIComponent('info@xn--bcher-kva.test')}`);
    await expectText(row(admin, 'data-address', 'info@bücher.test').locator('td[data-label="Address"]'), 'info@bücher.test');

    await visit(admin, `/forwards?q=${encodeURIComponent('bücher.test')}`);
    await expectText(admin.locator('main'), 'team@bücher.test');
    await expectText(admin.locator('main'), 'info@bücher.test');
    expect(await admin.locator('main').textContent()).not.toContain('xn--bcher-kva');

    const owner = await browser.newPage();
    await login(owner, 'info@xn--bcher-kva.test', 'Mailbox-pass1');
    await expectText(owner.getByTestId('viewer-label'), 'info@bücher.test');
    await screenshot(owner, 'idn-mailbox-owner');
    await owner.close();
  });
});
