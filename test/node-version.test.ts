// The project runs on the Node that package.json pins (devDependencies.node), not on the machine's:
// npm puts node_modules/.bin first on PATH for every script, so `node` there is the pinned one.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const pinned: string = pkg.devDependencies.node;

describe('the pinned Node', () => {
  it('is an exact version of a supported major', () => {
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(pinned.split('.')[0])).toBeGreaterThanOrEqual(22);
  });

  it('runs the tests', () => {
    expect(process.version).toBe(`v${pinned}`);
  });

  it('is the `node` every npm script finds first on its PATH', () => {
    // Started without node_modules/.bin on PATH (as from a plain shell): npm must put it first itself.
    const plainPath = (process.env.PATH ?? '').split(':').filter((dir) => !dir.endsWith(`node_modules${path.sep}.bin`)).join(':');
    const env = execFileSync('npm', ['run', 'env'], { encoding: 'utf8', env: { ...process.env, PATH: plainPath } });
    const PATH = /^PATH=(.*)$/m.exec(env)?.[1] ?? '';
    const first = PATH.split(':').find((dir) => {
      try {
        execFileSync(path.join(dir, 'node'), ['-v']);
        return true;
      } catch {
        return false;
      }
    });
    expect(first).toBe(path.resolve('node_modules/.bin'));
    expect(execFileSync(path.join(first!, 'node'), ['-v'], { encoding: 'utf8' }).trim()).toBe(`v${pinned}`);
  });

  it('is the lowest Node the engines field admits', () => {
    const engines: string = pkg.engines.node;
    expect(engines).toBe(`>=${pinned}`);
  });
});
