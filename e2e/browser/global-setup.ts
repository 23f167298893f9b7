// Starts the panel once for every browser test file and stops it (by pid) when the run ends, even
// when tests fail. Tests get the URL and the first admin through inject('app').
import { existsSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startTestDnsServer, type HostRecord } from '../../test/dns-server.js';
import { startApp } from './app.js';

declare module 'vitest' {
  export interface ProvidedContext {
    app: { url: string; dataDir: string; admin: { email: string; password: string }; accessTokenTtlSeconds: number };
  }
}

/** Short access tokens, so a run crosses several refreshes and socket renewals (4401). */
export const ACCESS_TOKEN_TTL_SECONDS = 30;

/** The app's DNS_SERVER (Check DNS): answers from <DATA_DIR>/dns.json, which a test writes as
 *  { "name": [["TXT string", …] or { "type": "MX" | "CNAME" | "SRV", … }, …] } — nothing ever asks the Internet. */
async function startDns(dataDir: () => string) {
  const dns = await startTestDnsServer();
  const load = () => {
    const file = path.join(dataDir(), 'dns.json');
    dns.txt.clear();
    dns.hosts.clear();
    if (!existsSync(file)) return;
    for (const [name, records] of Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, (string[] | HostRecord)[]>)) {
      const txt = records.filter((r): r is string[] => Array.isArray(r));
      const hosts = records.filter((r): r is HostRecord => !Array.isArray(r));
      if (txt.length) dns.txt.set(name, txt);
      if (hosts.length) dns.hosts.set(name, hosts);
    }
  };
  return { dns, load };
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  let dataDir = '';
  const { dns, load } = await startDns(() => dataDir);
  const app = await startApp({ env: {
      DNS_SERVER: dns.address,
      // The server's mail host: the MX, autoconfig and SRV records name it (security.test.ts).
      MAIL_HOSTNAME: 'mx.panel.test',
      ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TOKEN_TTL_SECONDS),
      WEBMAIL_URL: 'http://webmail.invalid/',
      // One migration at a time, so a second one stays queued (the cancel test).
      MIGRATION_CONCURRENCY: '1',
      MIGRATION_ALLOW_PRIVATE_SOURCES: 'true',
      // Keep-in-sync migrations (sync-migration): a "minute" of the sync interval is 1 s, so the
      // shortest interval (5) syncs every 5 s (migration-sync.test.ts).
      MIGRATION_SYNC_MINUTE_SECONDS: '1',
      // The quarantine test files a message the way Dovecot's spam Sieve would; pick it up quickly.
      QUARANTINE_SCAN_SECONDS: '1',
    } });
  dataDir = app.dataDir;
  const dnsFile = path.join(app.dataDir, 'dns.json');
  watchFile(dnsFile, { interval: 100 }, load);
  console.log(`[browser] panel at ${app.url} (pid ${app.pid}, data ${app.dataDir}) started in ${Date.now() - started} ms`);
  project.provide('app', { url: app.url, dataDir: app.dataDir, admin: app.admin, accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
  const onExit = () => void app.stop();
  process.once('exit', onExit);
  return async () => {
    process.off('exit', onExit);
    unwatchFile(dnsFile);
    await dns.close();
    await app.stop();
    console.log(`[browser] panel stopped (pid ${app.pid})`);
  };
}
