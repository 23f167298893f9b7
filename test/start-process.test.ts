// The launcher as an operator runs it: the real `npm start` (web build included) or the entry it execs
// (`node --import tsx scripts/start.ts`), on a temp data folder with free ports and the embedded
// PostgreSQL. One instance per data folder; SIGTERM/SIGINT to npm or to the whole process group end
// everything in order without error lines; a killed PostgreSQL comes back by itself.
// The cases run one after another in this one file: `npm start` builds web/build when it is older
// than its sources (scripts/build-web.ts), so two builds must never overlap.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive } from '../core/src/embedded-postgres.js';
import { freePort } from './free-port.js';

/** Everything must be gone this long after the signal (SHUTDOWN_GRACE_MS is 1 s; stops take ~1 s more). */
const GRACE_MS = 15_000;
const ADMIN = { email: 'admin@start.test', password: 'start-pass-123' };
const ERROR_LINE = /"level":"error"|ECONNREFUSED|terminating connection|Unhandled|\bError: /;


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(100);
  }
  return Date.now() - t0;
}

/** Live (non-zombie) members of a process group, from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

function processGroupOf(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

interface Folder {
  dataDir: string;
  port: number;
  pgPort: number;
}

const folders: string[] = [];
async function newFolder(): Promise<Folder> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'mailpanel-start-'));
  chmodSync(dataDir, 0o755); // as root, PostgreSQL runs as user postgres and must reach its folder
  folders.push(dataDir);
  return { dataDir, port: await freePort(), pgPort: await freePort() };
}

interface Launched {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  exited: Promise<number | null>;
}

/** `npm start`, or the entry it execs; in its own process group, as a shell would start it. */
function launch(how: 'npm' | 'node', f: Folder): Launched {
  const [cmd, args] = how === 'npm' ? ['npm', ['start']] : [process.execPath, ['--import', 'tsx', 'scripts/start.ts']];
  const child = spawn(cmd as string, args as string[], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: '',
      DATA_DIR: f.dataDir,
      MAIL_ROOT: path.join(f.dataDir, 'vmail'),
      HOST: '127.0.0.1',
      PORT: String(f.port),
      EMBEDDED_PG_PORT: String(f.pgPort),
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      LOG_LEVEL: 'info',
      QUOTA_REFRESH_CRON: 'off',
    },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function serving(l: Launched): Promise<string> {
  let done = false;
  void l.exited.then(() => (done = true));
  await waitUntil(() => done || /GraphQL API: http:\/\/\S+\/graphql/.test(l.output()), 120_000, 'the panel to start');
  const m = /GraphQL API: (http:\/\/\S+)\/graphql/.exec(l.output());
  if (!m) throw new Error(`did not start:\n${l.output()}`);
  return m[1]!;
}

function postmasterPid(f: Folder): number {
  return Number(readFileSync(path.join(f.dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function health(url: string): Promise<number> {
  return fetch(`${url}/healthz`).then((r) => r.status, () => 0);
}

/** What the admin's login answers: the success type's name, or the error. */
async function login(url: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: `mutation{ login(email:"${ADMIN.email}", password:"${ADMIN.password}"){ __typename } }` }),
  });
  const body = (await res.json()) as { data?: { login?: { __typename: string } }; errors?: unknown };
  return body.data?.login?.__typename ?? `${res.status} ${JSON.stringify(body.errors)}`;
}

/** After a stop: no process of the group, no postmaster, nothing listening, no error line (in the
 *  output from `logFrom` on). */
async function expectAllGone(l: Launched, f: Folder, pids: number[], signalledAt: number, logFrom = 0) {
  const pgid = l.child.pid!;
  const took = await waitUntil(() => [...pids, ...groupMembers(pgid)].every((p) => !processAlive(p)), GRACE_MS, `every process to exit:\n${l.output()}`).catch((err) => {
    for (const p of [...pids, ...groupMembers(pgid)]) if (processAlive(p)) process.kill(p, 'SIGKILL');
    throw err;
  });
  expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS);
  expect(took).toBeLessThan(GRACE_MS);
  expect(await portAnswers(f.port)).toBe(false);
  expect(await portAnswers(f.pgPort)).toBe(false);
  expect(existsSync(path.join(f.dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  const shutdownLog = l.output().slice(logFrom);
  expect(shutdownLog.split('\n').filter((line) => ERROR_LINE.test(line))).toEqual([]);
  expect(shutdownLog).toMatch(/"msg":"stopped"/);
}

afterAll(() => {
  for (const d of folders) rmSync(d, { recursive: true, force: true });
});

describe.sequential('npm start on one data folder', () => {
  let folder: Folder;
  let first: Launched;
  let url: string;

  it('a second start refuses at once, naming the running instance; the first stays healthy', { timeout: 240_000 }, async () => {
    folder = await newFolder();
    first = launch('npm', folder);
    url = await serving(first);
    const pg = postmasterPid(folder);
    const app = groupMembers(first.child.pid!).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('scripts/start.ts'))!;
    expect(await health(url)).toBe(200);
    // What a person sees before the URL: npm's two lines and at most a "Building the panel…", not the
    // build's ~180 lines (shown only when the build fails: test/build-web.test.ts).
    const beforeUrl = first.output().split('  Mail panel:')[0]!.split('\n').filter((l) => l.trim() && !l.startsWith('{'));
    expect(beforeUrl.length).toBeLessThanOrEqual(5);
    expect(first.output()).not.toContain('npm run preview');

    // Same folder, same ports: the way an operator starts it twice.
    const second = launch('npm', folder);
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.output()).toContain(`Another mail panel instance is already running on the data folder`);
    expect(second.output()).toContain(`(pid ${app}, ${url})`);
    expect(second.output()).not.toMatch(/EADDRINUSE/);

    expect(postmasterPid(folder)).toBe(pg);
    expect(processAlive(pg)).toBe(true);
    expect(await health(url)).toBe(200);
    expect(await login(url)).toBe('MutationLoginSuccess');
  });

  it('the embedded PostgreSQL runs in its own process group; killed, it is started again and the API answers by itself', { timeout: 60_000 }, async () => {
    const pg = postmasterPid(folder);
    // Not in the launcher's group: a terminal's Ctrl-C (SIGINT to the foreground group) cannot reach it.
    expect(processGroupOf(pg)).not.toBe(first.child.pid);
    const before = first.output().length;
    process.kill(pg, 'SIGKILL');
    const t0 = Date.now();
    // Nobody restarts anything here: the launcher notices and starts PostgreSQL again itself.
    await waitUntil(() => existsSync(path.join(folder.dataDir, 'pg', 'postmaster.pid')) && postmasterPid(folder) !== pg && processAlive(postmasterPid(folder)), 30_000, 'a new postmaster');
    await waitUntil(async () => (await login(url)) === 'MutationLoginSuccess', 30_000, 'the API to answer again');
    const back = Date.now() - t0;
    expect(await health(url)).toBe(200);
    await sleep(1500);
    const lines = first.output().slice(before).split('\n').filter((l) => l.startsWith('{'));
    // One line per change of state (PostgreSQL down / up again, database unreachable / reachable), not per failed query.
    expect(lines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
    expect(lines.filter((l) => l.includes('embedded PostgreSQL stopped unexpectedly'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('embedded PostgreSQL is running again'))).toHaveLength(1);
    expect(lines.length).toBeLessThanOrEqual(4);
    console.log(`PostgreSQL killed: API answering again after ${back} ms; ${lines.length} log lines`);
  });

  it('SIGTERM to the npm process ends npm, the app and PostgreSQL, frees the ports, no error line', { timeout: 60_000 }, async () => {
    const pids = [first.child.pid!, ...groupMembers(first.child.pid!), postmasterPid(folder)];
    const logFrom = first.output().length; // the killed PostgreSQL above was logged, as it should be
    const t0 = Date.now();
    process.kill(first.child.pid!, 'SIGTERM');
    await expectAllGone(first, folder, pids, t0, logFrom);
    expect(await first.exited).toBe(0);
  });
});

describe.sequential('signals to the process group', () => {
  it('SIGTERM to the group of `npm start`: everything gone within the grace time, no error line', { timeout: 240_000 }, async () => {
    const folder = await newFolder();
    const l = launch('npm', folder);
    const url = await serving(l);
    expect(await login(url)).toBe('MutationLoginSuccess');
    const pids = [...groupMembers(l.child.pid!), postmasterPid(folder)];
    const t0 = Date.now();
    process.kill(-l.child.pid!, 'SIGTERM');
    await expectAllGone(l, folder, pids, t0);
  });

  it('Ctrl-C (SIGINT to the foreground group) stops the app first, then PostgreSQL: no error line', { timeout: 120_000 }, async () => {
    const folder = await newFolder();
    const l = launch('node', folder);
    const url = await serving(l);
    expect(await login(url)).toBe('MutationLoginSuccess');
    const pids = [...groupMembers(l.child.pid!), postmasterPid(folder)];
    const t0 = Date.now();
    process.kill(-l.child.pid!, 'SIGINT');
    await expectAllGone(l, folder, pids, t0);
    expect(await l.exited).toBe(0);
  });
});
