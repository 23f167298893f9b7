// Every browser test file: when a test fails, each open tab of each browser the file launched is
// saved as e2e/artifacts/FAILED-<file>-<test>-<n>.png for a person to look at.
import path from 'node:path';
import { afterEach } from 'vitest';
import { openBrowsers, screenshot } from './browser.js';

const slug = (s: string, max: number) => s.replace(/[^a-z0-9]+/gi, '-').slice(0, max);

afterEach(async (ctx) => {
  if (ctx.task.result?.state !== 'fail') return;
  const file = path.basename(ctx.task.file?.name ?? 'test', '.test.ts');
  const pages = [...openBrowsers].flatMap((b) => b.pages());
  for (const [i, page] of pages.entries()) await screenshot(page, `FAILED-${slug(file, 20)}-${slug(ctx.task.name, 50)}-${i}`).catch(() => undefined);
});
