// Starts the real panel for the browser suite: `scripts/start.ts` (embedded PostgreSQL + API + worker
// + built panel on one URL) in a fresh temporary DATA_DIR, on free ports, with a known first admin.
// stop() ends exactly the processes this started: the launcher by pid (SIGTERM, then SIGKILL), and if
// it died without stopping its PostgreSQL, that postgres by the pid in its postmaster.pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/free-port.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningApp {
  url: string;
  pid: number;
  dataDir: string;
  logFile: string;
  admin: { email: string; password: string };
  stop(): Promise<void>;
}


function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

export async function startApp(opts: { env?: Record<string, string>; keepDataDir?: boolean } = {}): Promise<RunningApp> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'mailpanel-browser-'));
  const port = await freePort();
  const pgPort = await freePort();
  const admin = { email: 'admin@panel.test', password: 'Admin-Passw0rd!' };
  const logFile = path.join(dataDir, 'app.log');
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      EMBEDDED_PG_PORT: String(pgPort),
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      PUBLIC_URL: '',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const pid = child.pid!;
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (alive(pid)) {
      process.kill(pid, 'SIGTERM');
      try {
        await waitFor(() => !alive(pid), 20_000, 'the panel to stop');
      } catch {
        process.kill(pid, 'SIGKILL');
      }
    }
    // A launcher that died abruptly leaves its PostgreSQL running: stop that one by its pid.
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pgPid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pgPid > 0 && alive(pgPid)) {
        process.kill(pgPid, 'SIGINT'); // PostgreSQL's "fast" shutdown
        await waitFor(() => !alive(pgPid), 15_000, 'PostgreSQL to stop').catch(() => process.kill(pgPid, 'SIGKILL'));
      }
    }
    log.end();
    if (!opts.keepDataDir && !process.env.BROWSER_KEEP) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        if (exited !== null) throw new Error(`The panel exited with code ${exited} while starting; log: ${logFile}\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
        try {
          const res = await fetch(`${url}/healthz`);
          return res.ok;
        } catch {
          return false;
        }
      },
      90_000,
      `the panel at ${url}`,
    );
  } catch (err) {
    opts.keepDataDir = true;
    await stop();
    throw err;
  }
  return { url, pid, dataDir, logFile, admin, stop };
}
