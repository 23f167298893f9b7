// One instance per data folder. The lock is a listening Unix socket named after the folder's real
// path: the kernel lets only one process bind a name, and frees it when that process dies however it
// died (SIGKILL included), so there is no stale lock to guess about and no pid that could have been
// reused. On Linux the name lives in the abstract namespace (no file at all); elsewhere it is a
// socket file in the folder, removed when nobody answers on it. A second instance connects to the
// socket and is told the running one's pid and URL, which it names when it refuses to start.
import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import path from 'node:path';

export interface InstanceInfo {
  pid: number;
  /** Where the running instance answers; null while it is still starting. */
  url: string | null;
}

export class InstanceRunningError extends Error {
  constructor(
    readonly dataDir: string,
    readonly running: InstanceInfo,
  ) {
    super(
      `Another mail panel instance is already running on the data folder ${dataDir} ` +
        `(pid ${running.pid}, ${running.url ?? 'still starting'}). Stop it first, or give this one its own DATA_DIR.`,
    );
    this.name = 'InstanceRunningError';
  }
}

export interface InstanceLock {
  /** Tells later starts where this instance answers. */
  announce(url: string): void;
  release(): Promise<void>;
}

function socketName(dir: string): string {
  if (process.platform === 'linux') return `\0mailpanel-instance:${createHash('sha256').update(dir).digest('hex')}`;
  return path.join(dir, 'instance.sock');
}

function listen(server: Server, name: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(false) : reject(err));
    server.once('error', onError);
    server.listen(name, () => {
      server.off('error', onError);
      resolve(true);
    });
  });
}

/** Asks the holder of the lock who it is; null when nobody answers (it has just gone away). */
function askHolder(name: string): Promise<InstanceInfo | null> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(name);
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('data', (d) => (text += d));
    socket.on('error', () => resolve(null));
    socket.on('close', () => {
      try {
        resolve(JSON.parse(text) as InstanceInfo);
      } catch {
        resolve(null);
      }
    });
  });
}

/** Takes the data folder's lock, or throws InstanceRunningError naming the instance that holds it. */
export async function acquireInstanceLock(dataDir: string): Promise<InstanceLock> {
  mkdirSync(dataDir, { recursive: true });
  const dir = realpathSync(dataDir);
  const name = socketName(dir);
  const info: InstanceInfo = { pid: process.pid, url: null };
  const server = createServer((socket) => socket.end(JSON.stringify(info)));
  for (let attempt = 0; ; attempt++) {
    if (await listen(server, name)) break;
    const running = await askHolder(name);
    if (running) throw new InstanceRunningError(dir, running);
    if (attempt >= 2) throw new Error(`Could not take the instance lock of ${dir}`);
    // Nobody answered: a socket file left by a killed process (the abstract name frees itself).
    if (!name.startsWith('\0')) rmSync(name, { force: true });
  }
  // The lock must not keep a process alive that has nothing else to do.
  server.unref();
  return {
    announce: (url) => void (info.url = url),
    release: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
