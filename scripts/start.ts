// `npm start`: everything in one process on the embedded default — PostgreSQL (unless DATABASE_URL is
// set), migrations, the first admin, the API (+ GraphiQL), the worker and the built panel on one URL.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { config, ConfigError } from '@mailpanel/core/env';
import { ensureDatabase, ensureFirstAdmin } from '@mailpanel/core/bootstrap';
import { closeDb } from '@mailpanel/core/db';
import { log } from '@mailpanel/core/logger';

async function main() {
  const cfg = config();
  const embedded = await ensureDatabase();
  const admin = await ensureFirstAdmin();
  const { buildApp } = await import('@mailpanel/api/app');
  const { startWorker } = await import('@mailpanel/worker/worker');

  const webBuild = path.resolve('web/build/handler.js');
  const webHandler = existsSync(webBuild) ? (await import(pathToFileURL(webBuild).href)).handler : undefined;
  const app = await buildApp({ webHandler });
  // RUN_WORKER=false when workers run as their own processes (scripts/worker.ts).
  const worker = cfg.RUN_WORKER ? await startWorker() : null;
  const url = await app.start(cfg.PORT, cfg.HOST);

  console.log(`\n  Mail panel:  ${cfg.PUBLIC_URL ?? url}/`);
  console.log(`  GraphQL API: ${url}/graphql${cfg.graphiql ? ' (GraphiQL in the browser)' : ''}`);
  if (embedded) console.log(`  Database:    embedded PostgreSQL in ${embedded.dir}`);
  if (admin) console.log(`  First admin: ${admin.email}${admin.password ? ` / ${admin.password}  (shown once; change it)` : ''}`);
  if (!webHandler) console.log('  (panel not built: run `npm run build:web`)');
  console.log('');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    await app.stop().catch((err) => log.error('api stop failed', { err }));
    await worker?.stop().catch((err) => log.error('worker stop failed', { err }));
    await closeDb();
    await embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
