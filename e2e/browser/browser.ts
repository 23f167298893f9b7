// Debian's Chromium driven by playwright-core (no browser download). Each suite gets its own browser;
// each newPage() its own context (cookies and storage), as a separate person's browser would be, since
// one context shares the panel's login cookie between its tabs; newTab() opens another tab beside a
// page, sharing its login. Screens are saved to e2e/artifacts/ (git-ignored) for a person to look at.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page, type Response } from 'playwright-core';
import { expect } from 'vitest';
import { ROOT } from './app.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT, 'e2e/artifacts');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  /** A tab in a context of its own (its own cookies, so its own login). */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  /** Another tab in the same context as page (the same login). */
  newTab(page: Page): Promise<Page>;
  /** Every open tab, of every context. */
  pages(): Page[];
  close(): Promise<void>;
}

/** A response that gave the tab a session (its access token is that fresh): login steps and refreshes. */
export function isSessionAnswer(r: Response): boolean {
  const sent = r.request();
  return sent.method() === 'POST' && new URL(r.url()).pathname === '/graphql' && /\bmutation (Login|CompleteLogin|ConfirmTwoFactorEnrolment|RefreshSession)\b/.test(sent.postData() ?? '');
}

const sessionAnswers = new WeakMap<Page, number>();
/** When the tab last got a session, as seen on the network (the panel keeps its tokens out of reach). */
export function lastSessionAt(page: Page): number | undefined {
  return sessionAnswers.get(page);
}

const CONTEXT_OPTIONS = {
  viewport: { width: 1366, height: 900 },
  locale: 'en-GB',
  timezoneId: 'Europe/Berlin',
};

/** The browsers open in this test file: a failed test saves their tabs (failure-screens.ts). */
export const openBrowsers = new Set<Browser>();

export async function launch(baseURL: string): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // playwright adds --headless itself for headless: true (and would drop a second one).
    headless: true,
    args: CHROMIUM_ARGS.filter((a) => a !== '--headless'),
  });
  const contexts = new Set<BrowserContext>();
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
    page.on('response', (r) => {
      if (isSessionAnswer(r)) sessionAnswers.set(page, Date.now());
    });
  };
  const newTab = async (context: BrowserContext, viewport?: { width: number; height: number }) => {
    const page = await context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    return page;
  };
  const opened: Browser = {
    async newPage(viewport) {
      const context = await browser.newContext({ ...CONTEXT_OPTIONS, baseURL });
      context.setDefaultTimeout(15_000);
      context.on('page', watch);
      contexts.add(context);
      return newTab(context, viewport);
    },
    newTab: (page) => newTab(page.context()),
    pages: () => [...contexts].flatMap((c) => c.pages()),
    async close() {
      openBrowsers.delete(opened);
      await browser.close().catch(() => undefined);
      expect(errors, 'uncaught errors in the page').toEqual([]);
    },
  };
  openBrowsers.add(opened);
  return opened;
}

export async function login(page: Page, email: string, password: string): Promise<void> {
  await page.goto('/login');
  await page.getByLabel('E-mail or mailbox address').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  await page.getByTestId('viewer-label').waitFor({ state: 'attached' });
}

/**
 * Navigates inside the app the way a click on a link does (SvelteKit's router, no page load), as a
 * person moves around the panel. A full page load (page.goto) is kept for the first visit and for
 * reload tests (a load that interrupts a token refresh in flight re-presents the old refresh token,
 * which the API accepts within REFRESH_REUSE_GRACE_SECONDS).
 */
export async function visit(page: Page, href: string, landsOn = href): Promise<void> {
  await page.evaluate((to) => {
    const a = document.createElement('a');
    a.href = to;
    (document.body.firstElementChild ?? document.body).append(a);
    a.click();
    a.remove();
  }, href);
  const target = new URL(landsOn, page.url());
  await page.waitForURL((u) => u.pathname === target.pathname && u.search === target.search);
}

export async function screenshot(page: Page, name: string, opts: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  // A tab in the background does not run CSS transitions: bring it forward and let bars settle.
  await page.bringToFront();
  await page.waitForTimeout(500);
  await page.screenshot({ path: file, fullPage: opts.fullPage ?? true });
  return file;
}

/** Polls until the locator's text matches (playwright-core has no expect of its own). */
export async function expectText(locator: Locator, expected: string | RegExp, timeout = 15_000): Promise<void> {
  await expect
    .poll(async () => (await locator.textContent({ timeout: 1_000 }).catch(() => null)) ?? '', { timeout, interval: 150 })
    .toMatch(typeof expected === 'string' ? new RegExp(expected.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : expected);
}

/** The error shown under a labelled field: the element its aria-describedby names with id …-error. */
export async function fieldError(page: Page, label: string): Promise<string> {
  const input = page.getByLabel(label, { exact: true });
  await expect.poll(() => input.getAttribute('aria-invalid')).toBe('true');
  const ids = ((await input.getAttribute('aria-describedby')) ?? '').split(/\s+/).filter((id) => id.endsWith('-error'));
  expect(ids, `error id in aria-describedby of "${label}"`).toHaveLength(1);
  return (await page.locator(`[id="${ids[0]}"]`).textContent()) ?? '';
}
