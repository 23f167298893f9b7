// Forwards CSV in a real browser: Export CSV on the forwards list downloads the forwards the list
// shows, in the format importForwards reads (docs/bulk.md). (The forwards Import page is not built yet.)
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { launch, login, visit, type Browser } from './browser.js';

const app = inject('app');
const DOMAIN = 'fwd-csv.test';

let browser: Browser;
let page: Page;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Fwd CSV', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Fwd CSV Kunde', pkg);
  await api.createUser('owner@fwd-csv.test', 'customer-pass-1', customer);
  await api.createDomain(DOMAIN, customer);
  await api.login('owner@fwd-csv.test', 'customer-pass-1');
  await api.createForward(`sales@${DOMAIN}`, ['someone@example.org']);
  browser = await launch(app.url);
  page = await browser.newPage();
  await login(page, 'owner@fwd-csv.test', 'customer-pass-1');
});

afterAll(async () => {
  await browser?.close();
});

describe('forwards CSV', () => {
  test('Export CSV on the forwards list downloads the forwards', { timeout: 90_000 }, async () => {
    await visit(page, '/forwards');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-forwards').click()]);
    expect(download.suggestedFilename()).toBe('forwards.csv');
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toContain(`sales@${DOMAIN}`);
    expect(text).toContain('someone@example.org');
  });
});
