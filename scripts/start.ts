// `npm start`: everything in one process on the embedded default — PostgreSQL (unless DATABASE_URL is
// set), migrations, the first admin, the API (+ GraphiQL), the worker and the built panel on one URL.
// Signals: SIGTERM or SIGINT (npm forwards both; `npm start` execs this process, so it is npm's own
// child) shut down in order — stop taking requests, let in-flight jobs finish or hand them back,
// stop pg-boss, close the database pool, then stop the embedded PostgreSQL (which runs in its own
// process group, so a terminal's Ctrl-C reaches only this process). A parent that dies without
// forwarding anything (npm killed with SIGKILL) is noticed too: this process then shuts down alike.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { config, ConfigError } from '@mailpanel/core/env';
import { ensureDatabase, ensureFirstAdmin, type EmbeddedInstance } from '@mailpanel/core/bootstrap';
import { closeDb } from '@mailpanel/core/db';
import { InstanceRunningError } from '@mailpanel/core/instance-lock';
import { log } from '@mailpanel/core/logger';

const PARENT_CHECK_MS = 1000;

async function startServing(cfg: ReturnType<typeof config>, embedded: EmbeddedInstance | null) {
  const admin = await ensureFirstAdmin();
  const { buildApp } = await import('@mailpanel/api/app');
  const { startWorker } = await import('@mailpanel/worker/worker');

  const webBuild = path.resolve('web/build/handler.js');
  const webHandler = existsSync(webBuild) ? (await import(pathToFileURL(webBuild).href)).handler : undefined;
  const app = await buildApp({ webHandler });
  // RUN_WORKER=false when workers run as their own processes (scripts/worker.ts).
  const worker = cfg.RUN_WORKER ? await startWorker() : null;
  const url = await app.start(cfg.PORT, cfg.HOST);
  embedded?.announce(cfg.PUBLIC_URL ?? url);

  console.log(`\n  Mail panel:  ${cfg.PUBLIC_URL ?? url}/`);
  console.log(`  GraphQL API: ${url}/graphql${cfg.graphiql ? ' (GraphiQL in the browser)' : ''}`);
  if (embedded) console.log(`  Database:    embedded PostgreSQL in ${embedded.dir}`);
  if (admin) console.log(`  First admin: ${admin.email}${admin.password ? ` / ${admin.password}  (shown once; change it)` : ''}`);
  if (!webHandler) console.log('  (panel not built: run `npm run build:web`)');
  console.log('');
  return { app, worker };
}

async function main() {
  const cfg = config();
  // Signals are taken from the first moment: one that arrives while starting is acted on once the
  // start is done, so it never kills this process half-way and leaves its PostgreSQL behind.
  let stopRequested: string | undefined;
  let shutdown = (reason: string) => void (stopRequested ??= reason);
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && shutdown('parent process exited'), PARENT_CHECK_MS).unref();

  const embedded = await ensureDatabase();
  let started: Awaited<ReturnType<typeof startServing>>;
  try {
    started = await startServing(cfg, embedded);
  } catch (err) {
    // A start that fails half-way must not leave its PostgreSQL behind (it runs in its own process group).
    await closeDb().catch(() => {});
    await embedded?.stop();
    throw err;
  }
  const { app, worker } = started;

  let stopping = false;
  shutdown = (reason) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      log.info('shutting down', { reason });
      await app.stop().catch((err) => log.error('api stop failed', { err }));
      await worker?.stop().catch((err) => log.error('worker stop failed', { err }));
      await closeDb();
      await embedded?.stop();
      log.info('stopped');
      process.exit(0);
    })();
  };
  if (stopRequested) shutdown(stopRequested);
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof InstanceRunningError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
