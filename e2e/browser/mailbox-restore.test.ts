// Issue 16, deletion with restore in a real browser: an admin gives a package a restore period in the
// package dialog (out of range is said next to the field), a mailbox of that package is deleted from
// the Mailboxes page (the confirmation names the period), shows up under the status filter "Deleted"
// as "deleted — purged on <date>" with Restore and Purge now, and Restore makes it active again.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, fieldError, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');

let browser: Browser;
let admin: Page;
let api: Api;

const row = (page: Page, address: string) => page.locator(`tr[data-address="${address}"]`);

beforeAll(async () => {
  api = await new Api(app.url).login(app.admin.email, app.admin.password);
  browser = await launch(app.url);
  admin = await browser.newPage();
  await login(admin, app.admin.email, app.admin.password);
});

afterAll(async () => {
  await browser?.close();
});

describe('deletion with restore, mailbox language (issue 16)', () => {
  test('a package with a restore period; delete → "deleted — purged on <date>" → Restore → active again', async () => {
    await visit(admin, '/admin/packages');
    await admin.getByRole('button', { name: 'Create package' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Create hosting package' });
    await dialog.getByLabel('Name').fill('Restorable');
    await dialog.getByLabel('Restore period after deletion (days)').fill('400');
    await dialog.getByRole('button', { name: 'Create package' }).click();
    expect(await fieldError(admin, 'Restore period after deletion (days)')).toContain('0 (delete at once) to 365');
    await dialog.getByLabel('Restore period after deletion (days)').fill('14');
    await dialog.getByRole('button', { name: 'Create package' }).click();
    await expect.poll(() => dialog.count()).toBe(0);

    const packages = await api.gql(`{ hostingPackages(first:200){ edges { node { id name deleteGraceDays } } } }`);
    const pkg = packages.hostingPackages.edges.map((e: any) => e.node).find((p: any) => p.name === 'Restorable');
    expect(pkg.deleteGraceDays).toBe(14);
    const customer = await api.createCustomer('Restore Kunde', pkg.id);
    await api.createDomain('restore.test', customer);
    const m = await api.createMailbox('keep', 'restore.test', 'Keep-Me-Around-Pass-5');

    // Searched for: the whole suite's mailboxes share this panel, so a list's first page may not hold it.
    await visit(admin, `/mailboxes?q=${encodeURIComponent(m.address)}`);
    const mailbox = row(admin, m.address);
    await mailbox.waitFor();
    await mailbox.getByRole('button', { name: `Delete ${m.address}` }).click();
    const confirm = admin.getByRole('dialog', { name: `Delete ${m.address}?` });
    await expectText(confirm, /Its mail and address are kept for 14 days/);
    await confirm.getByRole('button', { name: 'Delete mailbox' }).click();
    await expect.poll(() => mailbox.count()).toBe(0);

    // Under "Deleted": the purge date, Restore, and (admins) Purge now.
    await admin.getByLabel('Status').selectOption('DELETED');
    await mailbox.waitFor();
    const { node: deleted } = await api.gql(`query($id:ID!){ node(id:$id){ ... on Mailbox { deletedAt purgeAt } } }`, { id: m.id });
    expect(Date.parse(deleted.purgeAt) - Date.parse(deleted.deletedAt)).toBe(14 * 86_400_000);
    // The date as the panel writes it in this browser's locale.
    const purgeOn = await admin.evaluate((iso) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(new Date(iso)), deleted.purgeAt as string);
    await expectText(mailbox.locator('td[data-label="Status"]'), `deleted — purged on ${purgeOn}`);
    expect(await mailbox.getByRole('button', { name: `Purge ${m.address} now` }).count()).toBe(1);
    expect(await mailbox.getByRole('button', { name: `Edit ${m.address}` }).count()).toBe(0);
    await screenshot(admin, 'mailbox-deleted');

    await mailbox.getByRole('button', { name: `Restore ${m.address}` }).click();
    await expect.poll(() => mailbox.count()).toBe(0);
    await admin.getByLabel('Status').selectOption('ACTIVE');
    await mailbox.waitFor();
    await expectText(mailbox.locator('td[data-label="Status"]'), /Active/);
    const state = await api.gql(`query($id:ID!){ node(id:$id){ ... on Mailbox { status deletedAt purgeAt } } }`, { id: m.id });
    expect(state.node).toEqual({ status: 'ACTIVE', deletedAt: null, purgeAt: null });
  });

  // Mailbox language (issue 16): set in the edit dialog.
  test('the edit dialog sets the mailbox language', async () => {
    const pkg = await api.createPackage('Language test');
    const customer = await api.createCustomer('Sprache Kunde', pkg);
    await api.createDomain('sprache.test', customer);
    const m = await api.createMailbox('anna', 'sprache.test', 'Anna-Spricht-Deutsch-3');
    // Searched for: the whole suite's mailboxes share this panel, so a list's first page may not hold it.
    await visit(admin, `/mailboxes?q=${encodeURIComponent(m.address)}`);
    const mailbox = row(admin, m.address);
    await mailbox.waitFor();
    await mailbox.getByRole('button', { name: `Edit ${m.address}` }).click();
    const dialog = admin.getByRole('dialog', { name: 'Edit mailbox' });
    expect(await dialog.getByLabel('Language').inputValue()).toBe('');
    await dialog.getByLabel('Language').selectOption({ label: 'Deutsch' });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    const saved = await api.gql(`query($id:ID!){ node(id:$id){ ... on Mailbox { language } } }`, { id: m.id });
    expect(saved.node.language).toBe('de');
    await mailbox.getByRole('button', { name: `Edit ${m.address}` }).click();
    expect(await dialog.getByLabel('Language').inputValue()).toBe('de');
  });
});
