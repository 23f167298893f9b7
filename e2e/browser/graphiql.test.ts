// GraphiQL in Chromium: the page loads its linked assets (compressed, cacheable), the editor and its
// workers start, and GraphiQL's own introspection query is answered (it is held to the query limits
// by an exact rule, not by a higher depth for everyone).
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { launch, screenshot, type Browser } from './browser.js';

const app = inject('app');
let browser: Browser;

beforeAll(async () => {
  browser = await launch(app.url);
});

afterAll(async () => {
  await browser?.close();
});

test('GraphiQL loads from its assets, starts its editor, and gets the schema by introspection', async () => {
  const page = await browser.newPage();
  const failures: string[] = [];
  page.on('pageerror', (e) => failures.push(String(e)));
  page.on('requestfailed', (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
  const introspection = page.waitForResponse(async (r) => r.url().endsWith('/graphql') && r.request().method() === 'POST' && (r.request().postData() ?? '').includes('__schema'));
  const assetBytes: number[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/graphql/graphiql/')) void r.headerValue('content-encoding').then((e) => assetBytes.push(e ? 1 : 0));
  });
  const nav = await page.goto('/graphql', { waitUntil: 'load' });
  expect(nav?.status()).toBe(200);
  const answer = await introspection;
  const body = await answer.json();
  expect(body.errors).toBeUndefined();
  expect(body.data.__schema.types.some((t: { name: string }) => t.name === 'Mailbox')).toBe(true);
  await page.locator('.graphiql-container').first().waitFor({ timeout: 30_000 });
  await page.locator('.monaco-editor').first().waitFor({ timeout: 30_000 });
  await screenshot(page, 'graphiql');
  expect(failures).toEqual([]);
  // Every asset came compressed.
  expect(assetBytes.length).toBeGreaterThanOrEqual(2);
  expect(assetBytes.every((b) => b === 1)).toBe(true);
});
