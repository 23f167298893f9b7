// One panel login across a browser's tabs and reloads (the refresh token in an HttpOnly cookie): a
// second tab opens signed in, a reload keeps the login, two tabs refreshing at the same moment take
// turns (Web Locks: never the same cookie twice) and both stay signed in, a logout in one tab sends
// the others to /login at once, a login in one tab lets a tab waiting on /login go on; another
// browser (context) never shares it, and no script can read the refresh token.
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page, Request } from 'playwright-core';
import { Api } from './api.js';
import { expectText, isSessionAnswer, launch, login, screenshot, type Browser } from './browser.js';

const app = inject('app');
const CUSTOMER = { email: 'owner@tabs.test', password: 'Tabs-Customer-pass-4' };

let browser: Browser;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Tabs test', { maxMailboxes: 5 });
  const customer = await api.createCustomer('Tabs GmbH', pkg);
  await api.createUser(CUSTOMER.email, CUSTOMER.password, customer);
  browser = await launch(app.url);
});

afterAll(async () => {
  await browser?.close();
});

const pathOf = (page: Page) => new URL(page.url()).pathname;
async function signedInOn(page: Page, path: string) {
  await page.waitForURL((u) => u.pathname === path);
  await expectText(page.getByTestId('viewer-label'), CUSTOMER.email);
}
/** The refreshSession requests a tab sends, with the cookie each presented. */
function refreshesOf(page: Page): { cookie: string | undefined; sentAt: number; answeredAt?: number }[] {
  const seen: { cookie: string | undefined; sentAt: number; answeredAt?: number; request: Request }[] = [];
  page.on('request', (r) => {
    if (!/\bmutation RefreshSession\b/.test(r.postData() ?? '')) return;
    const entry: (typeof seen)[number] = { cookie: undefined, sentAt: Date.now(), request: r };
    seen.push(entry);
    void r.allHeaders().then((h) => (entry.cookie = /mailpanel_refresh=([^;]+)/.exec(h.cookie ?? '')?.[1]));
  });
  page.on('response', (r) => {
    const s = seen.find((x) => x.request === r.request());
    if (s && isSessionAnswer(r)) s.answeredAt = Date.now();
  });
  return seen;
}

describe('tabs', () => {
  test('one login across tabs and reloads; logout in one tab ends it in all; another browser stays out', async () => {
    const one = await browser.newPage();
    await login(one, CUSTOMER.email, CUSTOMER.password);

    // The refresh token is out of the page's reach: not in storage, not in document.cookie.
    const visible = await one.evaluate(() => ({ cookie: document.cookie, session: sessionStorage.length, local: localStorage.length }));
    expect(visible).toEqual({ cookie: '', session: 0, local: 0 });

    // A second tab of the same browser opens a panel page already signed in.
    const two = await browser.newTab(one);
    await two.goto('/mailboxes');
    await signedInOn(two, '/mailboxes');
    await two.getByRole('heading', { name: 'Mailboxes' }).waitFor();
    await screenshot(two, '60-second-tab-signed-in');

    // A reload keeps the login.
    await two.reload();
    await signedInOn(two, '/mailboxes');

    // Both tabs resume at the same moment (reloads): the refreshes take turns, each presenting the
    // cookie the one before left, and both tabs stay signed in.
    const r1 = refreshesOf(one);
    const r2 = refreshesOf(two);
    await Promise.all([one.goto('/account'), two.goto('/mailboxes')]);
    await Promise.all([signedInOn(one, '/account'), signedInOn(two, '/mailboxes')]);
    await expect.poll(() => [r1.length, r2.length, r1[0]?.answeredAt && r2[0]?.answeredAt ? 'answered' : '']).toEqual([1, 1, 'answered']);
    const [first, second] = [r1[0]!, r2[0]!].sort((a, b) => a.sentAt - b.sentAt);
    // (Compared, not printed: they are live refresh tokens.)
    expect(!!first.cookie && !!second.cookie, 'both refreshes sent the cookie').toBe(true);
    expect(second.cookie === first.cookie, 'the second refresh presents the rotated cookie').toBe(false);
    expect(second.sentAt, 'the second refresh waits for the first').toBeGreaterThanOrEqual(first.answeredAt!);

    // Past the access token's lifetime both tabs have renewed theirs and go on working.
    await one.waitForTimeout((app.accessTokenTtlSeconds + 3) * 1000);
    await two.getByRole('link', { name: 'Forwards' }).click();
    await signedInOn(two, '/forwards');
    await one.getByRole('link', { name: 'Mailboxes' }).click();
    await signedInOn(one, '/mailboxes');

    // Another browser (its own cookies) is not signed in.
    const stranger = await browser.newPage();
    await stranger.goto('/mailboxes');
    await stranger.waitForURL((u) => u.pathname === '/login');
    await stranger.getByRole('heading', { name: 'Log in' }).waitFor();

    // Logging out in one tab sends the other to /login at once (no request of its own needed).
    await one.getByRole('button', { name: 'Log out' }).click();
    await one.waitForURL((u) => u.pathname === '/login');
    await two.waitForURL((u) => u.pathname === '/login', { timeout: 5_000 });
    // …and it stays out after a reload: the login is over, the cookie gone.
    await two.goto('/mailboxes');
    await two.waitForURL((u) => u.pathname === '/login');
    expect(pathOf(stranger)).toBe('/login');

    // A login in one tab lets the other, waiting on /login, continue.
    await two.getByRole('heading', { name: 'Log in' }).waitFor();
    await login(one, CUSTOMER.email, CUSTOMER.password);
    await two.waitForURL((u) => u.pathname !== '/login', { timeout: 5_000 });
    await signedInOn(two, '/mailboxes'); // where it was going (?next=)
    // The other browser still is not.
    await stranger.reload();
    await stranger.waitForURL((u) => u.pathname === '/login');
    await stranger.getByRole('heading', { name: 'Log in' }).waitFor();
  });
});
