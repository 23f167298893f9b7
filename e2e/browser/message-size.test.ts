// Issue 12, item 7, as a person sees it: the mailbox table shows the largest message a mailbox
// accepts next to its quota — the package's limit, or the server's — and an "unlimited" quota does
// not read as unlimited message size.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, launch, login, visit, type Browser } from './browser.js';

const app = inject('app');
let browser: Browser;
let admin: Page;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const roomy = await api.createPackage('Roomy (size test)', { maxMailboxes: 5, maxDomains: 2 });
  const tight = await api.createPackage('Tight (size test)', { maxMailboxes: 5, maxDomains: 2, maxMessageSizeMb: 5 });
  await api.createDomain('roomy-size.test', await api.createCustomer('Roomy Size Ltd', roomy));
  await api.createDomain('tight-size.test', await api.createCustomer('Tight Size Ltd', tight));
  await api.createMailbox('unlimited', 'roomy-size.test', 'Mailbox-pass1', 0);
  await api.createMailbox('limited', 'tight-size.test', 'Mailbox-pass1', 100);
  browser = await launch(app.url);
  admin = await browser.newPage();
  await login(admin, app.admin.email, app.admin.password);
});

afterAll(async () => {
  await browser?.close();
});

describe('maximum message size in the panel', () => {
  test('beside the quota: the server limit for an unlimited quota, the package limit where one is set', async () => {
    await visit(admin, '/mailboxes?q=size.test');
    const quota = (address: string) => admin.locator(`tr[data-address="${address}"] td[data-label="Quota"]`);
    await expectText(quota('unlimited@roomy-size.test'), /unlimited\s*max\. message 25 MB/);
    await expectText(quota('limited@tight-size.test'), /100 MB\s*max\. message 5 MB/);
    expect(await quota('unlimited@roomy-size.test').getByTitle('Largest message this mailbox accepts').textContent()).toBe('max. message 25 MB');
  });
});
