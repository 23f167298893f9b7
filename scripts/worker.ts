// `npm run worker`: the pg-boss worker alone, for running workers on other machines (a mail node runs
// one beside its Dovecot). Needs DATABASE_URL: the embedded database belongs to the `npm start` process.
import { config, ConfigError } from '@mailpanel/core/env';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { closeDb, db } from '@mailpanel/core/db';
import { migrate } from '@mailpanel/core/migrate';
import { log } from '@mailpanel/core/logger';
import { logDatabaseErrors } from '@mailpanel/core/database-outage';

async function main() {
  const cfg = config();
  if (!cfg.DATABASE_URL) throw new ConfigError(['DATABASE_URL: required for a standalone worker']);
  await migrate(cfg.DATABASE_URL);
  const { startWorker } = await import('@mailpanel/worker/worker');
  const worker = await startWorker();
  log.info('worker started');
  // Liveness for orchestrators: rewritten every 10 s after a successful database round trip.
  const heartbeatFile = path.join(cfg.dataDir, 'worker-heartbeat');
  mkdirSync(cfg.dataDir, { recursive: true });
  // An outage is logged once, not at every beat (core/src/database-outage.ts).
  const heartbeatFailed = logDatabaseErrors('worker heartbeat');
  const beat = () => db().$queryRaw`SELECT 1`.then(() => writeFileSync(heartbeatFile, new Date().toISOString()), heartbeatFailed);
  await beat();
  const heartbeat = setInterval(beat, 10_000);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(heartbeat);
    log.info('worker shutting down', { signal });
    await worker.stop().catch((err) => log.error('worker stop failed', { err }));
    await closeDb();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
