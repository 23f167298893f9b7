// Starts the panel once for every browser test file and stops it (by pid) when the run ends, even
// when tests fail. Tests get the URL and the first admin through inject('app').
import type { TestProject } from 'vitest/node';
import { startApp } from './app.js';

declare module 'vitest' {
  export interface ProvidedContext {
    app: { url: string; dataDir: string; admin: { email: string; password: string }; accessTokenTtlSeconds: number };
  }
}

/** Short access tokens, so a run crosses several refreshes and socket renewals (4401). */
export const ACCESS_TOKEN_TTL_SECONDS = 30;

export default async function setup(project: TestProject) {
  const started = Date.now();
  const app = await startApp({ env: {
      ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS),
      WEBMAIL_URL: 'http://webmail.invalid/',
      // One migration at a time, so a second one stays queued (the cancel test).
      MIGRATION_CONCURRENCY: '1',
      MIGRATION_ALLOW_PRIVATE_SOURCES: 'true',
    } });
  console.log(`[browser] panel at ${app.url} (pid ${app.pid}, data ${app.dataDir}) started in ${Date.now() - started} ms`);
  project.provide('app', { url: app.url, dataDir: app.dataDir, admin: app.admin, accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
  const onExit = () => void app.stop();
  process.once('exit', onExit);
  return async () => {
    process.off('exit', onExit);
    await app.stop();
    console.log(`[browser] panel stopped (pid ${app.pid})`);
  };
}
