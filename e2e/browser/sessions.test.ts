// The sessions screen in the real panel: two browsers logged in as the same person see each other
// listed (this one marked); ending the other logs that browser out at once, and "log out everywhere
// else" ends the rest while this one goes on.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const CUSTOMER = { email: 'owner@sessions.test', password: 'Sessions-Customer-pass-9' };

let first: Browser;
let second: Browser;
let third: Browser;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Sessions test', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Sessions GmbH', pkg);
  await api.createUser(CUSTOMER.email, CUSTOMER.password, customer);
  // Three browsers of their own (profiles), as a laptop, a phone and an old office PC would be.
  [first, second, third] = await Promise.all([launch(app.url), launch(app.url), launch(app.url)]);
});

afterAll(async () => {
  await Promise.all([first?.close(), second?.close(), third?.close()]);
});

const rowsOf = (page: Page) => page.locator('tr[data-session]');

describe('sessions', () => {
  test('ending the other browser’s login logs it out; "everywhere else" ends the rest, this one goes on', async () => {
    const laptop = await first.newPage();
    const phone = await second.newPage();
    const office = await third.newPage();
    for (const p of [laptop, phone, office]) await login(p, CUSTOMER.email, CUSTOMER.password);

    await visit(laptop, '/account');
    await expect.poll(() => rowsOf(laptop).count()).toBe(3);
    expect(await laptop.locator('tr[data-session="current"]').count()).toBe(1);
    await expectText(laptop.locator('tr[data-session="current"]'), 'This browser');
    await expectText(laptop.locator('tr[data-session="current"]'), '127.0.0.1');
    await screenshot(laptop, '43-sessions');

    // One other login, ended from the laptop: that browser finds itself logged out at its next load.
    await laptop.locator('tr[data-session="other"]').first().getByRole('button', { name: /End the login/ }).click();
    await expect.poll(() => rowsOf(laptop).count()).toBe(2);
    const others = [phone, office];
    const loggedOut = async () => {
      let n = 0;
      for (const p of others) {
        await p.goto('/account');
        await p.waitForLoadState('networkidle');
        if (new URL(p.url()).pathname === '/login') n++;
        else await p.getByRole('heading', { name: 'Account security' }).waitFor();
      }
      return n;
    };
    await expect.poll(loggedOut, { timeout: 20_000 }).toBe(1);

    await laptop.getByRole('button', { name: 'Log out everywhere else' }).click();
    await expect.poll(() => rowsOf(laptop).count()).toBe(1);
    await expect.poll(loggedOut, { timeout: 20_000 }).toBe(2);
    // This one goes on.
    await laptop.reload();
    await expectText(laptop.locator('tr[data-session="current"]'), 'This browser');
  });
});
