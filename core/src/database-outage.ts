// While PostgreSQL is unreachable (restarting, stopped, network), every poll of every pg-boss loop
// fails: logged one by one that was hundreds of error lines a minute, burying the one line that
// matters. Errors that mean "database unreachable" are instead logged once per outage, as a warning,
// and one line says when the database answers again (a light probe, only while it is down). Any
// other error is still logged as an error, every time.
import pg from 'pg';
import { databaseUrl, isDatabaseUnavailable } from './db.js';
import { log } from './logger.js';

const PROBE_INTERVAL_MS = 1000;
let outage: { since: number; probe: NodeJS.Timeout } | undefined;

async function reachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl(), connectionTimeoutMillis: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

function beginOutage(source: string, err: unknown) {
  log.warn('database unreachable; retrying until it answers', { source, err });
  const since = Date.now();
  let probing = false;
  const probe = setInterval(async () => {
    if (probing) return;
    probing = true;
    if (await reachable()) {
      clearInterval(probe);
      outage = undefined;
      log.info('database reachable again', { afterMs: Date.now() - since });
    }
    probing = false;
  }, PROBE_INTERVAL_MS);
  // The probe never keeps a process alive that is otherwise done.
  probe.unref();
  outage = { since, probe };
}

/** An error handler for background database users (pg-boss loops) that logs an outage once. */
export function logDatabaseErrors(source: string): (err: unknown) => void {
  return (err) => {
    if (!isDatabaseUnavailable(err)) return void log.error(`${source} error`, { err });
    if (!outage) beginOutage(source, err);
  };
}
