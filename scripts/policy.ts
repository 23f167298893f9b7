// `npm run policy`: the Postfix policy service for outbound rate limits (worker/src/policy), on
// POLICY_HOST:POLICY_PORT (loopback by default). Runs beside Postfix on each mail node; every node
// shares the hourly counters through DATABASE_URL. Postfix: smtpd_end_of_data_restrictions =
// check_policy_service inet:POLICY_HOST:POLICY_PORT on the submission port (deploy/templates).
import { config, ConfigError } from '@mailpanel/core/env';
import { log } from '@mailpanel/core/logger';
import { CounterStore } from '@mailpanel/worker/policy/counter-store';
import { startPolicyServer } from '@mailpanel/worker/policy/server';

async function main() {
  const cfg = config();
  if (!cfg.DATABASE_URL) throw new ConfigError(['DATABASE_URL: required for the policy service']);
  // One connection per lane, one for sender lookups.
  const store = new CounterStore(cfg.DATABASE_URL, { max: cfg.POLICY_LANES + 1 });
  const server = await startPolicyServer({ store, host: cfg.POLICY_HOST, port: cfg.POLICY_PORT, cacheSeconds: cfg.POLICY_CACHE_SECONDS, lanes: cfg.POLICY_LANES });
  // Printed for scripts that start it (and wait for this line).
  console.log(`policy service listening on ${server.host}:${server.port}`);
  const prune = setInterval(() => void store.prune().catch((err) => log.warn('policy: pruning counters failed', { err })), 3600_000);
  prune.unref();
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('policy service shutting down', { signal });
    clearInterval(prune);
    const { batches, counted } = server.stats();
    log.info('policy service: batches', { batches, counted, perBatch: batches ? Math.round((counted / batches) * 10) / 10 : 0, ...store.paths });
    await server.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
