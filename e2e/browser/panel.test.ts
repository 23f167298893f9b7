// The panel in a real browser against the real app (embedded PostgreSQL, API, worker, built panel):
// one scenario through the screens of the seed, each step building on the one before. Data around a
// step is seeded through the GraphQL API; everything asserted is what a person sees.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, fieldError, isSessionAnswer, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const CUSTOMER_A = { email: 'owner@acme.test', password: 'Customer-A-pass1' };
const CUSTOMER_B = { email: 'owner@bravo.test', password: 'Customer-B-pass1' };

let browser: Browser;
let admin: Page;
let api: Api;
let acmeId: string;

function row(page: Page, attr: string, value: string) {
  return page.locator(`tr[${attr}="${value}"]`);
}

/** Puts a message of `bytes` into a mailbox's Maildir, named the way Dovecot names them (S=size). */
function deliver(domain: string, localPart: string, bytes: number) {
  const dir = path.join(app.dataDir, 'vmail', domain, localPart, 'Maildir', 'new');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${Date.now()}.M1P1.panel-test,S=${bytes}`), Buffer.alloc(bytes, 'a'));
}

function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

beforeAll(async () => {
  api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const business = await api.createPackage('Business', {
    maxDomains: 5, maxMailboxes: 50, maxForwards: 20, totalQuotaMb: 20_000, maxEmailsPerHour: 500, maxEmailsPerHourMailbox: 100, maxEmailsPerHourDomain: 300,
  });
  const starter = await api.createPackage('Starter', {
    maxDomains: 1, maxMailboxes: 5, maxForwards: 5, totalQuotaMb: 2_000, maxEmailsPerHour: 100, maxEmailsPerHourMailbox: 50, maxEmailsPerHourDomain: 100,
  });
  const acme = await api.createCustomer('Acme Hosting GmbH', business);
  acmeId = acme;
  const bravo = await api.createCustomer('Bravo Bakery', starter);
  await api.createUser(CUSTOMER_A.email, CUSTOMER_A.password, acme);
  await api.createUser(CUSTOMER_B.email, CUSTOMER_B.password, bravo);
  await api.createDomain('acme.test', acme);
  await api.createDomain('acme-shop.test', acme);
  await api.createDomain('bravo.test', bravo);
  for (const u of ['bob', 'carol', 'info', 'sales']) await api.createMailbox(u, 'acme.test', 'Mailbox-pass1', 500);
  await api.createMailbox('orders', 'acme-shop.test', 'Mailbox-pass1', 1000);
  await api.createMailbox('baker', 'bravo.test', 'Mailbox-pass1', 200);
  await api.createForward('shop@bravo.test', ['baker@bravo.test']);

  browser = await launch(app.url);
  admin = await browser.newPage();
});


afterAll(async () => {
  await browser?.close();
});

describe('the panel, as an administrator', () => {
  test('logs in and sees the dashboard and the full navigation', async () => {
    await admin.goto('/');
    await admin.waitForURL(/\/login/);
    await screenshot(admin, '01-login');
    await login(admin, app.admin.email, app.admin.password);
    await expectText(admin.getByTestId('viewer-label'), app.admin.email);
    const nav = admin.getByRole('navigation', { name: 'Main' });
    for (const link of ['Mailboxes', 'Forwards', 'Domains', 'Hosting packages', 'Customers', 'Users', 'API tokens', 'Audit log'])
      await nav.getByRole('link', { name: link }).waitFor();
    await admin.getByText('mailboxes', { exact: false }).first().waitFor();
    await screenshot(admin, '02-dashboard-admin');
  });

  test('creates a mailbox and sees it in the table, set up live', async () => {
    await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Mailboxes' }).click();
    await admin.getByRole('link', { name: 'Create mailbox' }).first().click();
    await admin.getByLabel('Username').fill('alice');
    await admin.getByLabel('Domain').selectOption('acme.test');
    await admin.getByLabel('Password', { exact: true }).fill('Start-Passw0rd-42');
    await expectText(admin.locator('.strength'), /Strength: (Good|Strong)/);
    await admin.getByLabel('Quota (MB)').fill('250');
    await screenshot(admin, '03-create-mailbox');
    await admin.getByRole('button', { name: 'Create mailbox' }).click();
    await admin.waitForURL(/\/mailboxes\?q=alice%40acme\.test/);
    const alice = row(admin, 'data-address', 'alice@acme.test');
    await alice.waitFor();
    await expectText(alice, 'Acme Hosting GmbH');
    await expectText(alice, '0 MB / 250 MB');
    // PENDING → READY arrives over the mailboxChanged subscription, without a reload.
    await expect.poll(() => alice.getByText('Setting up…').count(), { timeout: 20_000 }).toBe(0);
    await expectText(alice, 'Active');
  });

  test('a field error from the API appears next to its field', async () => {
    await visit(admin, '/mailboxes/new');
    await admin.getByLabel('Username').fill('alice');
    await admin.getByLabel('Domain').selectOption('acme.test');
    await admin.getByLabel('Password', { exact: true }).fill('Another-Passw0rd');
    await admin.getByRole('button', { name: 'Create mailbox' }).click();
    expect(await fieldError(admin, 'Username')).toContain('alice@acme.test already exists');
    // Focus moves to the field in error.
    await expect.poll(() => admin.evaluate(() => document.activeElement?.id)).toBe('username');
    await screenshot(admin, '04-field-error');

    await admin.getByLabel('Username').fill('zoe');
    await admin.getByLabel('Quota (MB)').fill('999999');
    await admin.getByRole('button', { name: 'Create mailbox' }).click();
    expect(await fieldError(admin, 'Quota (MB)')).toMatch(/MB of the package's 20000 MB are left/);
  });

  test('changes the password with confirmation; the owner logs in with the new one', async () => {
    await visit(admin, '/mailboxes');
    const alice = row(admin, 'data-address', 'alice@acme.test');
    await alice.getByRole('button', { name: 'Change password of alice@acme.test' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Change password' });
    // Keyboard: the dialog opens in its first field, and Escape closes it.
    await expect.poll(() => admin.evaluate(() => document.activeElement?.getAttribute('autocomplete'))).toBe('new-password');
    await admin.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    await alice.getByRole('button', { name: 'Change password of alice@acme.test' }).click();
    await dialog.getByLabel('New password', { exact: true }).fill('New-Secret-Pass-7');
    await dialog.getByLabel('Repeat the new password').fill('New-Secret-Pass-8');
    await dialog.getByRole('button', { name: 'Change password' }).click();
    expect(await fieldError(admin, 'Repeat the new password')).toContain('differ');
    await dialog.getByLabel('Repeat the new password').fill('New-Secret-Pass-7');
    await dialog.getByRole('button', { name: 'Change password' }).click();
    await admin.getByText('Password of alice@acme.test changed.').first().waitFor();
    await dialog.waitFor({ state: 'hidden' });

    const owner = await browser.newPage();
    await login(owner, 'alice@acme.test', 'New-Secret-Pass-7');
    await owner.getByRole('heading', { name: 'alice@acme.test' }).waitFor();
    await owner.close();
  });

  test('disables and enables the mailbox', async () => {
    const alice = row(admin, 'data-address', 'alice@acme.test');
    await alice.getByRole('button', { name: 'Disable alice@acme.test' }).click();
    await expectText(alice.locator('td[data-label="Status"]'), 'Disabled');
    await admin.reload();
    await expectText(alice.locator('td[data-label="Status"]'), 'Disabled');
    await alice.getByRole('button', { name: 'Enable alice@acme.test' }).click();
    await expectText(alice.locator('td[data-label="Status"]'), 'Active');
  });

  test('edits quota and status', async () => {
    const alice = row(admin, 'data-address', 'alice@acme.test');
    // The row's actions sit on one line at laptop width (the rarer ones behind "More"); the menu
    // opens beside them and closes again with Escape.
    const actions = alice.locator('.row-actions');
    const button = await alice.getByRole('button', { name: 'Edit alice@acme.test' }).boundingBox();
    expect((await actions.boundingBox())!.height).toBeLessThan(button!.height * 1.5);
    await alice.getByRole('button', { name: 'More actions for alice@acme.test' }).click();
    await alice.getByRole('link', { name: /^Webmail for alice@acme\.test/ }).waitFor();
    await admin.keyboard.press('Escape');
    await alice.getByRole('link', { name: /^Webmail for alice@acme\.test/ }).waitFor({ state: 'hidden' });
    await alice.getByRole('button', { name: 'Edit alice@acme.test' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Edit mailbox' });
    await dialog.getByLabel('Quota (MB)').fill('300');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(alice, '0 MB / 300 MB');
  });

  test('sets an autoresponder with start and end dates', async () => {
    const alice = row(admin, 'data-address', 'alice@acme.test');
    await alice.getByRole('button', { name: 'More actions for alice@acme.test' }).click();
    await alice.getByRole('button', { name: 'Autoresponder of alice@acme.test' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Autoresponder' });
    await dialog.getByLabel('Send automatic replies').check();
    await dialog.getByLabel('Subject').fill('Out of office');
    await dialog.getByLabel('Message').fill('I am away until next week. For urgent matters write to info@acme.test.');
    const start = new Date(Date.now() - 24 * 3600_000);
    const end = new Date(Date.now() + 7 * 24 * 3600_000);
    // End before start is refused next to the end field.
    await dialog.getByLabel('Start (optional)').fill(localInput(end));
    await dialog.getByLabel('End (optional)').fill(localInput(start));
    await dialog.getByRole('button', { name: 'Save autoresponder' }).click();
    expect(await fieldError(admin, 'End (optional)')).toContain('after the start');
    await dialog.getByLabel('Start (optional)').fill(localInput(start));
    await dialog.getByLabel('End (optional)').fill(localInput(end));
    await screenshot(admin, '05-autoresponder');
    await dialog.getByRole('button', { name: 'Save autoresponder' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(alice.locator('td[data-label="Autoresponder"]'), /Active\s*until/);

    // Reopened, the form shows what was saved.
    await alice.getByRole('button', { name: 'More actions for alice@acme.test' }).click();
    await alice.getByRole('button', { name: 'Autoresponder of alice@acme.test' }).click();
    expect(await dialog.getByLabel('End (optional)').inputValue()).toBe(localInput(end));
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  test('searches, filters, sorts and pages the table', async () => {
    await visit(admin, '/mailboxes');
    await admin.getByLabel('Search').fill('acme-shop');
    await expect.poll(() => admin.locator('tbody tr').count()).toBe(1);
    await row(admin, 'data-address', 'orders@acme-shop.test').waitFor();
    await admin.getByLabel('Search').fill('');
    await admin.getByLabel('Customer').selectOption({ label: 'Bravo Bakery' });
    await expect.poll(() => admin.locator('tbody tr').count()).toBe(1);
    await row(admin, 'data-address', 'baker@bravo.test').waitFor();
    // Other test files add mailboxes of their own: from here on, Acme's only.
    await admin.getByLabel('Customer').selectOption({ label: 'Acme Hosting GmbH' });
    await admin.getByLabel('Status').selectOption('DISABLED');
    await admin.getByText('No mailbox matches these filters').waitFor();
    await admin.getByLabel('Status').selectOption('');

    // Sort by address, descending.
    await admin.getByRole('button', { name: /^Address/ }).click();
    await expect.poll(() => admin.locator('tbody tr').first().getAttribute('data-address')).toBe('sales@acme.test');
    await admin.getByRole('button', { name: /^Address/ }).click();
    await expect.poll(() => admin.locator('tbody tr').first().getAttribute('data-address')).toBe('alice@acme.test');

    // Cursor pagination: 25 per page, so add enough rows for a second page (6 + 20 = 26).
    for (let i = 0; i < 20; i++) await api.createMailbox(`user${String(i).padStart(2, '0')}`, 'acme.test', 'Mailbox-pass1', 10);
    await visit(admin, `/mailboxes?customer=${encodeURIComponent(acmeId)}`);
    await expectText(admin.locator('.pager-status'), '1–25 of 26 mailboxes');
    await admin.getByRole('button', { name: 'Next' }).click();
    await expectText(admin.locator('.pager-status'), '26–26 of 26 mailboxes');
    await expect.poll(() => admin.locator('tbody tr').count()).toBe(1);
    await admin.getByRole('button', { name: 'Previous' }).click();
    await expectText(admin.locator('.pager-status'), '1–25 of 26 mailboxes');
    await screenshot(admin, '06-mailboxes');
  });

  test('creates a forward with two destinations and a catch-all, and deletes one with confirmation', async () => {
    await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Forwards' }).click();
    await admin.getByRole('button', { name: 'Create forward' }).click();
    await admin.getByText('for a catch-all', { exact: false }).first().waitFor();
    await admin.getByLabel('Source address').fill('team@acme.test');
    await admin.getByLabel('Destinations').fill('alice@acme.test, bob@acme.test');
    await admin.locator('#create-forward').getByRole('button', { name: 'Create forward' }).click();
    const team = row(admin, 'data-source', 'team@acme.test');
    await expectText(team, 'alice@acme.test');
    await expectText(team, 'bob@acme.test');

    await admin.getByLabel('Source address').fill('*@acme.test');
    await admin.getByLabel('Destinations').fill('info@acme.test');
    await admin.getByRole('button', { name: 'Create catch-all' }).click();
    const catchAll = row(admin, 'data-source', '*@acme.test');
    await expectText(catchAll, 'Catch-all');

    // A second catch-all for the same domain is refused next to the source field.
    await admin.getByLabel('Source address').fill('*@acme.test');
    await admin.getByLabel('Destinations').fill('sales@acme.test');
    await admin.getByRole('button', { name: 'Create catch-all' }).click();
    expect(await fieldError(admin, 'Source address')).toContain('already has a catch-all');
    await screenshot(admin, '07-forwards');

    await team.getByRole('button', { name: 'Delete forward team@acme.test' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Delete forward team@acme.test?' });
    await expectText(dialog, 'will no longer reach alice@acme.test, bob@acme.test');
    await dialog.getByRole('button', { name: 'Delete forward' }).click();
    await team.waitFor({ state: 'detached' });
  });

  test('deletes a mailbox after a warning that all its mail is removed', async () => {
    await visit(admin, '/mailboxes?q=carol');
    const carol = row(admin, 'data-address', 'carol@acme.test');
    await carol.getByRole('button', { name: 'Delete carol@acme.test' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Delete carol@acme.test?' });
    await expectText(dialog, 'All mail in carol@acme.test will be removed permanently');
    await screenshot(admin, '08-delete-mailbox');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await carol.waitFor();
    await carol.getByRole('button', { name: 'Delete carol@acme.test' }).click();
    await dialog.getByRole('button', { name: 'Delete mailbox and all mail' }).click();
    await carol.waitFor({ state: 'detached' });
    await admin.getByText('No mailbox matches these filters').waitFor();
  });

  test('manages hosting packages with the three hourly limits', async () => {
    await visit(admin, '/admin/packages');
    await admin.getByRole('button', { name: 'Create package' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Create hosting package' });
    await dialog.getByLabel('Name').fill('Enterprise');
    await dialog.getByLabel('Mailboxes').fill('500');
    await dialog.getByLabel('Outgoing mail per hour (whole customer)').fill('5000');
    await dialog.getByLabel('Outgoing mail per hour, per mailbox').fill('200');
    await dialog.getByLabel('Outgoing mail per hour, per domain').fill('2000');
    await dialog.getByRole('button', { name: 'Create package' }).click();
    const ent = row(admin, 'data-package', 'Enterprise');
    await expectText(ent.locator('td[data-label="Per mailbox / h"]'), '200');
    await expectText(ent.locator('td[data-label="Mail / hour"]'), '5,000');
    await ent.getByRole('button', { name: 'Edit package Enterprise' }).click();
    const edit = admin.getByRole('dialog', { name: 'Edit package Enterprise' });
    await edit.getByLabel('Outgoing mail per hour, per mailbox').fill('250');
    await edit.getByRole('button', { name: 'Save package' }).click();
    await edit.waitFor({ state: 'hidden' });
    await expectText(ent.locator('td[data-label="Per mailbox / h"]'), '250');
    // A package in use cannot be deleted: the API's reason is shown in the dialog.
    await row(admin, 'data-package', 'Business').getByRole('button', { name: 'Delete package Business' }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Delete package' }).click();
    await expectText(admin.getByRole('dialog').locator('.form-error'), 'customers use this package');
    await admin.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    await screenshot(admin, '09-packages');
  });

  test('customers, users, domains, API tokens and the audit log', async () => {
    await visit(admin, '/admin/customers');
    await expectText(row(admin, 'data-customer', 'Acme Hosting GmbH').locator('td[data-label="Mailboxes"]'), /\d+ \/ 50/);
    await screenshot(admin, '10-customers');

    await visit(admin, '/admin/users');
    await row(admin, 'data-user', CUSTOMER_A.email).waitFor();
    await screenshot(admin, '11-users');

    await visit(admin, '/domains');
    await admin.getByLabel('Domain name').fill('not a domain');
    await admin.getByLabel('Owning customer').selectOption({ label: 'Acme Hosting GmbH' });
    await admin.getByRole('button', { name: 'Add domain' }).click();
    expect(await fieldError(admin, 'Domain name')).toContain('Not a valid domain name');
    await admin.getByLabel('Domain name').fill('acme-blog.test');
    await admin.getByRole('button', { name: 'Add domain' }).click();
    const blog = row(admin, 'data-domain', 'acme-blog.test');
    await blog.waitFor();
    await blog.getByRole('button', { name: 'Disable acme-blog.test' }).click();
    await expectText(blog.locator('td[data-label="Status"]'), 'Disabled');
    await screenshot(admin, '12-domains');

    await visit(admin, '/api-tokens');
    await admin.getByRole('button', { name: 'Create token' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel('Name').fill('billing-sync');
    await dialog.getByLabel('Access').selectOption('READ_ONLY');
    await dialog.getByRole('button', { name: 'Create token' }).click();
    const token = (await admin.getByTestId('new-token').textContent()) ?? '';
    expect(token.length).toBeGreaterThan(20);
    await screenshot(admin, '13-api-token-created');
    await dialog.getByRole('button', { name: 'Done' }).click();
    const tokenRow = row(admin, 'data-token', 'billing-sync');
    await expectText(tokenRow, 'Read only');
    // The token works against the API, read-only.
    const viaToken = new Api(app.url);
    viaToken.token = token;
    expect((await viaToken.gql<{ viewer: { label: string; readOnly: boolean } }>('{ viewer { label readOnly } }')).viewer).toEqual({
      label: `${app.admin.email} (token billing-sync)`,
      readOnly: true,
    });
    await tokenRow.getByRole('button', { name: 'Revoke token billing-sync' }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await tokenRow.waitFor({ state: 'detached' });
    // Revoked: the token no longer identifies anyone, and `viewer` says so (UNAUTHENTICATED), as every field does.
    await expect(viaToken.gql('{ viewer { label } }')).rejects.toThrow('API token is invalid, expired or revoked');

    await visit(admin, '/audit');
    await admin.getByLabel('Action').selectOption({ label: 'Mailboxes' });
    await admin.getByText('mailbox.delete').first().waitFor();
    await screenshot(admin, '14-audit-log');
  });

  test('keeps the session across access-token expiry: refreshes, and live updates resume on a new socket', async () => {
    await visit(admin, '/mailboxes?q=alice');
    // Past the access token's lifetime: the panel refreshed it before expiry (seen on the network: the
    // tokens are out of the page's storage), and the API closed the socket opened with the old one (4401).
    const renewed = admin.waitForResponse(
      async (r) => isSessionAnswer(r) && (await r.json()).data?.refreshSession?.__typename === 'MutationRefreshSessionSuccess',
      { timeout: (app.accessTokenTtlSeconds + 15) * 1000 },
    );
    await admin.waitForTimeout((app.accessTokenTtlSeconds + 5) * 1000);
    await renewed;
    await expectText(admin.locator('.live'), 'Live');
    // A change made elsewhere still reaches the open table over the renewed subscription.
    const alice = row(admin, 'data-address', 'alice@acme.test');
    const { mailboxes } = await api.gql<{ mailboxes: { edges: { node: { id: string } }[] } }>(`{ mailboxes(filter: { search: "alice@acme.test" }) { edges { node { id } } } }`);
    await api.ok(
      `mutation($id: ID!) { updateMailbox(id: $id, quotaMb: 400) { __typename ... on MutationUpdateMailboxSuccess { mailbox { id } } ... on Error { message } } }`,
      { id: mailboxes.edges[0]!.node.id },
    );
    await expectText(alice, '0 MB / 400 MB', 20_000);
  });

  test('shows new quota usage live when the worker measures it', async () => {
    const alice = row(admin, 'data-address', 'alice@acme.test');
    // Mail arrives on disk (as Dovecot would store it), then a measurement runs: the bar moves
    // in the open table without a reload.
    deliver('acme.test', 'alice', 3 * 1024 * 1024);
    const { mailboxes } = await api.gql<{ mailboxes: { edges: { node: { id: string } }[] } }>(`{ mailboxes(filter: { search: "alice@acme.test" }) { edges { node { id } } } }`);
    await api.ok(
      `mutation($id: ID!) { recalculateQuota(mailboxId: $id) { __typename ... on MutationRecalculateQuotaSuccess { mailbox { id } } ... on Error { message } } }`,
      { id: mailboxes.edges[0]!.node.id },
    );
    await expectText(alice, '3 MB / 400 MB', 20_000);
    // The screen as a person first sees it (for docs/screenshots), with one mailbox nearly full.
    deliver('acme.test', 'user00', 8 * 1024 * 1024);
    const user00 = await api.gql<{ mailboxes: { edges: { node: { id: string } }[] } }>(`{ mailboxes(filter: { search: "user00@" }) { edges { node { id } } } }`);
    await api.ok(
      `mutation($id: ID!) { recalculateQuota(mailboxId: $id) { __typename ... on MutationRecalculateQuotaSuccess { mailbox { id } } ... on Error { message } } }`,
      { id: user00.mailboxes.edges[0]!.node.id },
    );
    await visit(admin, `/mailboxes?customer=${encodeURIComponent(acmeId)}`);
    await expectText(row(admin, 'data-address', 'alice@acme.test'), '3 MB / 400 MB');
    await expectText(row(admin, 'data-address', 'user00@acme.test'), '8 MB / 10 MB', 20_000);
    await screenshot(admin, '19-mailboxes-viewport', { fullPage: false });
  });
});

describe('the panel, as customers and a mailbox owner', () => {
  test('a customer sees only its own rows and no administration', async () => {
    const page = await browser.newPage();
    await login(page, CUSTOMER_B.email, CUSTOMER_B.password);
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Mailboxes' }).waitFor();
    expect(await nav.getByRole('link', { name: 'Customers' }).count()).toBe(0);
    await screenshot(page, '15-dashboard-customer');
    await nav.getByRole('link', { name: 'Mailboxes' }).click();
    await row(page, 'data-address', 'baker@bravo.test').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Search').fill('acme');
    await page.getByText('No mailbox matches these filters').waitFor();
    await visit(page, '/forwards');
    await row(page, 'data-source', 'shop@bravo.test').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(1);
    // An admin URL is not there for a customer (e2e/browser/navigation.test.ts covers every role).
    await visit(page, '/admin/customers');
    await page.getByRole('heading', { name: 'Page not found' }).waitFor();
    await page.close();

    const a = await browser.newPage();
    await login(a, CUSTOMER_A.email, CUSTOMER_A.password);
    await visit(a, '/mailboxes?q=baker');
    await a.getByText('No mailbox matches these filters').waitFor();
    await visit(a, '/mailboxes');
    await row(a, 'data-address', 'alice@acme.test').waitFor();
    expect(await row(a, 'data-address', 'baker@bravo.test').count()).toBe(0);
    await a.close();
  });

  test('a mailbox owner sees only their mailbox', async () => {
    const page = await browser.newPage();
    await login(page, 'alice@acme.test', 'New-Secret-Pass-7');
    await page.getByRole('heading', { name: 'alice@acme.test' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Mailboxes' }).count()).toBe(0);
    await expectText(page.locator('main'), '3 MB / 400 MB');
    await expectText(page.locator('main'), /Active\s*until/);
    deliver('acme.test', 'alice', 2 * 1024 * 1024);
    await page.getByRole('button', { name: 'Measure now' }).click();
    await expectText(page.locator('main'), '5 MB / 400 MB', 20_000);
    await screenshot(page, '16-owner');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    await page.close();
  });

  test('works at phone width', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    await login(page, CUSTOMER_A.email, CUSTOMER_A.password);
    await visit(page, '/mailboxes');
    await row(page, 'data-address', 'alice@acme.test').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: (await screenshot(page, '17-phone-mailboxes')).replace('.png', '-viewport.png') });
    await page.getByRole('button', { name: 'Open menu' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Forwards' }).waitFor();
    await screenshot(page, '18-phone-menu');
    await page.close();
  });
});
