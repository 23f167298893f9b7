// Two-factor login in the real panel: a mailbox owner sets it up on Account security (QR code, the
// key as text beside it, the first code, recovery codes shown once), then logs in with a code and
// with a recovery code; a customer whose administrator requires it is led through the setup at
// login; an administrator resets a lost one from the Users screen.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { currentCode } from '../../api/src/auth/two-factor.js';
import { Api } from './api.js';
import { expectText, launch, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const OWNER = { email: 'desk@twofactor.test', password: 'Desk-Owner-pass-9' };
const CUSTOMER = { email: 'boss@twofactor.test', password: 'Boss-Customer-pass-9' };

let browser: Browser;
let admin: Page;

/** A code of the step after the current one: the current may be used up already (never twice). */
const nextCode = (secret: string) => currentCode(secret, Date.now() + 30_000);
const secretOn = async (page: Page) => (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '');

async function passwordStep(page: Page, email: string, password: string) {
  await page.goto('/login');
  await page.getByLabel('E-mail or mailbox address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Two-factor test', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Twofactor GmbH', pkg);
  await api.createUser(CUSTOMER.email, CUSTOMER.password, customer);
  await api.createDomain('twofactor.test', customer);
  await api.createMailbox('desk', 'twofactor.test', OWNER.password, 100);
  browser = await launch(app.url);
  admin = await browser.newPage();
  await passwordStep(admin, app.admin.email, app.admin.password);
  await admin.getByTestId('viewer-label').waitFor();
});


afterAll(async () => {
  await browser?.close();
});

describe('two-factor login', () => {
  let secret = '';
  let recovery: string[] = [];

  test('a mailbox owner sets it up: QR code, first code, recovery codes shown once', async () => {
    const page = await browser.newPage();
    await passwordStep(page, OWNER.email, OWNER.password);
    await page.getByTestId('viewer-label').waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account security' }).click();
    await expectText(page.getByTestId('two-factor-state'), 'Off');
    await page.getByRole('button', { name: 'Set up two-factor login' }).click();
    await page.getByTestId('totp-qr').locator('svg').waitFor();
    secret = await secretOn(page);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await screenshot(page, '40-two-factor-setup');

    await page.getByLabel('Code from the app').fill('000000');
    await page.getByRole('button', { name: 'Turn on two-factor login' }).click();
    await expectText(page.locator('#totp-setup-code-error'), 'not right');
    await page.getByLabel('Code from the app').fill(currentCode(secret));
    await page.getByRole('button', { name: 'Turn on two-factor login' }).click();
    const codes = page.getByTestId('recovery-codes');
    await codes.waitFor();
    recovery = (await codes.locator('li code').allTextContents()).map((c) => c.trim());
    expect(recovery).toHaveLength(10);
    await screenshot(page, '41-two-factor-recovery-codes');
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await expectText(page.getByTestId('two-factor-state'), 'On');
    await expectText(page.getByTestId('recovery-left'), '10 of 10');
    // Shown once: a reload shows the state, never the codes or the key.
    await page.reload();
    await expectText(page.getByTestId('two-factor-state'), 'On');
    expect(await page.getByTestId('recovery-codes').count()).toBe(0);
    expect(await page.getByTestId('totp-secret').count()).toBe(0);
    await page.close();
  });

  test('logs in with a code, then with a recovery code (which works once)', async () => {
    const page = await browser.newPage();
    await passwordStep(page, OWNER.email, OWNER.password);
    await page.getByRole('heading', { name: 'Two-factor login' }).waitFor();
    await page.getByLabel('Code').fill('123456');
    await page.getByRole('button', { name: 'Log in' }).click();
    await expectText(page.locator('#code-error'), 'not right');
    await page.getByLabel('Code').fill(nextCode(secret));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: OWNER.email }).waitFor();
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    // As a person would: on to the next login once the login page shows (a load before the logout
    // has reached the API would still resume the browser's login from its cookie).
    await page.waitForURL((u) => u.pathname === '/login');

    await passwordStep(page, OWNER.email, OWNER.password);
    await page.getByLabel('Code').fill(recovery[0]!);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: OWNER.email }).waitFor();
    await visit(page, '/account');
    await expectText(page.getByTestId('recovery-left'), '9 of 10');
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    // As a person would: on to the next login once the login page shows (a load before the logout
    // has reached the API would still resume the browser's login from its cookie).
    await page.waitForURL((u) => u.pathname === '/login');

    await passwordStep(page, OWNER.email, OWNER.password);
    await page.getByLabel('Code').fill(recovery[0]!);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expectText(page.locator('#code-error'), 'not right');
    await page.close();
  });

  test('required for a customer: its login is led through the setup, then into the panel', async () => {
    await visit(admin, '/admin/customers');
    await admin.getByRole('button', { name: 'Edit Twofactor GmbH' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Edit Twofactor GmbH' });
    await dialog.getByLabel(/Require two-factor login/).check();
    await dialog.getByRole('button', { name: 'Save customer' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const page = await browser.newPage();
    await passwordStep(page, CUSTOMER.email, CUSTOMER.password);
    await page.getByRole('heading', { name: 'Set up two-factor login' }).waitFor();
    await page.getByTestId('totp-qr').locator('svg').waitFor();
    const customerSecret = await secretOn(page);
    await screenshot(page, '42-two-factor-required-at-login');
    await page.getByLabel('Code from the app').fill(currentCode(customerSecret));
    await page.getByRole('button', { name: 'Turn on two-factor login' }).click();
    await page.getByTestId('recovery-codes').waitFor();
    await page.getByRole('button', { name: 'Continue to the panel' }).click();
    await expectText(page.getByTestId('viewer-label'), CUSTOMER.email);
    await visit(page, '/account');
    await expectText(page.getByTestId('two-factor-state'), 'On');
    expect(await page.getByRole('button', { name: 'Turn off' }).count()).toBe(0);
    await page.close();
  });

  test('an administrator resets a lost one; a required one is set up again at the next login', async () => {
    await visit(admin, '/admin/users');
    await admin.getByLabel('Search').fill('boss@twofactor');
    const row = admin.locator('tr', { hasText: CUSTOMER.email });
    await expectText(row, 'On');
    await row.getByRole('button', { name: `Reset two-factor login of ${CUSTOMER.email}` }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Reset two-factor login' }).click();
    await expectText(row, 'Off');

    const page = await browser.newPage();
    await passwordStep(page, CUSTOMER.email, CUSTOMER.password);
    await page.getByRole('heading', { name: 'Set up two-factor login' }).waitFor();
    await page.close();
  });
});
