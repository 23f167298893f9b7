// App passwords in the real panel, as a mailbox owner: one made for a phone with its services, the
// password shown once (gone after a reload), listed without it, revoked; "mail programs need app
// passwords" refused at its switch until two-factor login is on. What Dovecot does with them is the
// mail-stack suite's (e2e/mailstack/app-passwords.test.ts).
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { Api } from './api.js';
import { expectText, launch, login, screenshot, type Browser } from './browser.js';

const app = inject('app');
const OWNER = { email: 'phone@apps.test', password: 'Quiet-Harbour-Lamp-84' };

let browser: Browser;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Apps test', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Apps GmbH', pkg);
  await api.createDomain('apps.test', customer);
  await api.createMailbox('phone', 'apps.test', OWNER.password, 100);
  browser = await launch(app.url);
});

afterAll(async () => {
  await browser?.close();
});

describe('app passwords', () => {
  test('made for a phone, shown once, listed without it, revoked', async () => {
    const page = await browser.newPage();
    await login(page, OWNER.email, OWNER.password);
    const card = page.getByTestId('app-passwords');
    await card.getByLabel('Name').fill('Phone');
    await card.getByLabel('POP3 (download mail)').check();
    await card.getByRole('button', { name: 'Create app password' }).click();
    const shown = page.getByTestId('new-app-password');
    await expectText(shown, 'shown only now');
    const password = (await shown.locator('code').textContent())!.trim();
    expect(password).toMatch(/^([a-z2-9]{5}-){3}[a-z2-9]{5}$/);
    await expectText(card.locator('li[data-app-password="Phone"]'), 'IMAP, SMTP, POP3');
    await screenshot(page, '44-app-password-created');

    // Once: a reload shows the list, never the password.
    await page.reload();
    await card.locator('li[data-app-password="Phone"]').waitFor();
    expect(await page.getByTestId('new-app-password').count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(password);

    // Only with two-factor login on.
    await page.getByTestId('app-passwords-only').check();
    await page.getByText(/Turn on two-factor login for this mailbox first/).first().waitFor();
    await expect.poll(() => page.getByTestId('app-passwords-only').isChecked()).toBe(false);

    await card.getByRole('button', { name: 'Revoke the app password Phone' }).click();
    await expectText(card.locator('li[data-app-password="Phone"]'), 'Revoked');
    await page.close();
  });
});
