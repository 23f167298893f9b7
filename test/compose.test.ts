// docker-compose.yml cannot be run here (no Docker engine), so its structure is checked instead:
// the services, how they start and wait for each other, their health checks, their environment
// (complete, valid for core/src/env.ts, and with no secret written into the file), and the volumes.
// The Dockerfile, its entry point and .dockerignore are checked alongside.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseEnv } from '../core/src/env.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

interface Healthcheck {
  test?: string | string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  disable?: boolean;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  restart?: string;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  profiles?: string[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeDoc = parseDocument(read('docker-compose.yml'), { merge: true, uniqueKeys: true });
const compose = composeDoc.toJS({ maxAliasCount: 100 }) as ComposeFile;
const services = compose.services ?? {};

const PANEL = ['api', 'worker', 'web'] as const;
const FULL_PANEL = ['api', 'worker'] as const; // processes that read the whole app configuration

/** The environment of a service as a map (Compose accepts a map or a list of KEY=VALUE). */
function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i === -1 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

function dependsOn(service: Service): Record<string, { condition?: string }> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((d) => [d, {}])) : deps;
}

function healthTest(service: Service): string {
  const t = service.healthcheck?.test;
  return Array.isArray(t) ? t.join(' ') : (t ?? '');
}

/** The variables a value interpolates: ${VAR}, ${VAR:-default}, ${VAR:?message}, … ($$ is a literal $). */
function interpolations(value: string): { name: string; op: string }[] {
  const out: { name: string; op: string }[] = [];
  for (const m of value.replace(/\$\$/g, '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?/g)) out.push({ name: m[1], op: m[2] ?? '' });
  return out;
}

/** Compose's interpolation, given what an operator puts in .env. Throws like Compose on a missing required variable. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^}]*))?\}/g, (_all, name: string, colon: string, op: string, arg: string) => {
      const v = vars[name];
      const missing = colon ? v === undefined || v === '' : v === undefined;
      if (op === '?' && missing) throw new Error(`required variable ${name} is missing: ${arg}`);
      if (op === '-' && missing) return arg;
      if (op === '+') return missing ? '' : arg;
      return v ?? '';
    })
    .replace(/\$\$/g, '$');
}

const SECRET_NAME = /PASSWORD|SECRET|ENCRYPTION_KEY|PRIVATE_KEY|TOKEN|DATABASE_URL/i;

describe('docker-compose.yml', () => {
  it('parses as YAML without errors or warnings', () => {
    expect(composeDoc.errors).toEqual([]);
    expect(composeDoc.warnings).toEqual([]);
    expect(typeof services).toBe('object');
  });

  it('defines postgres and the panel services', () => {
    for (const name of ['postgres', ...PANEL]) expect(services, `service ${name}`).toHaveProperty(name);
    expect(services.postgres.image).toMatch(/^postgres:16(\b|$)/);
  });

  it('gives every service an image or a build', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(Boolean(service.image || service.build), `${name} has image or build`).toBe(true);
    }
  });

  it('builds the panel services from the root Dockerfile, one image with a command per process', () => {
    const images = new Set<string | undefined>();
    for (const name of PANEL) {
      const { build, image, command } = services[name];
      const context = typeof build === 'string' ? build : build?.context;
      expect(context, `${name} build context`).toBe('.');
      if (typeof build === 'object' && build.dockerfile) expect(build.dockerfile).toBe('Dockerfile');
      images.add(image);
      expect(command, `${name} command`).toBeDefined();
    }
    expect(images.size, 'api, worker and web share one image').toBe(1);
    const commands = PANEL.map((name) => [services[name].command].flat().join(' '));
    expect(new Set(commands).size, 'each panel service starts its own process').toBe(PANEL.length);
  });

  it('starts api, worker and web only once postgres is healthy', () => {
    for (const name of PANEL) {
      expect(dependsOn(services[name]).postgres?.condition, `${name} → postgres`).toBe('service_healthy');
    }
  });

  it('has a health check on every service, and restart policies', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck, `${name} healthcheck`).toBeDefined();
      expect(service.healthcheck?.disable, `${name} healthcheck enabled`).not.toBe(true);
      const test = service.healthcheck?.test;
      expect(Array.isArray(test), `${name} healthcheck test is an exec array`).toBe(true);
      expect(['CMD', 'CMD-SHELL'], `${name} healthcheck form`).toContain((test as string[])[0]);
      expect(['always', 'unless-stopped', 'on-failure'], `${name} restart`).toContain(service.restart?.split(':')[0]);
    }
    expect(healthTest(services.postgres)).toContain('pg_isready');
    expect(healthTest(services.api)).toMatch(/\/healthz\b/);
  });

  it('gives api and worker the settings the panel needs', () => {
    const required = ['DATABASE_URL', 'JWT_SECRET', 'ENCRYPTION_KEY', 'ADMIN_EMAIL', 'ADMIN_PASSWORD', 'WEBMAIL_URL', 'PORT', 'HOST', 'DATA_DIR', 'MAIL_ROOT'];
    for (const name of FULL_PANEL) {
      const env = envOf(services[name]);
      for (const key of required) expect(env[key], `${name}.${key}`).toBeTruthy();
      expect(env.HOST, `${name} listens on all interfaces`).toBe('0.0.0.0');
      expect(env.DATABASE_URL, `${name} reaches postgres by its service name`).toMatch(/@postgres:5432\//);
    }
    const web = envOf(services.web);
    expect(web.HOST).toBe('0.0.0.0');
    expect(web.PORT).toBeTruthy();
    expect(web.API_URL).toMatch(/^http:\/\/api:\d+$/);
  });

  it('writes no secret into the file: secrets are interpolated, and required', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(envOf(service))) {
        if (!SECRET_NAME.test(key)) continue;
        const vars = interpolations(value);
        expect(vars.length, `${name}.${key} comes from the environment`).toBeGreaterThan(0);
        if (key === 'DATABASE_URL') {
          // user:password@ — nothing literal but the separator, and the password must be set.
          const userinfo = /^[a-z]+:\/\/(.*)@[^@]*$/.exec(value)?.[1] ?? '';
          expect(userinfo.replace(/\$\{[^}]*\}/g, ''), `${name}.DATABASE_URL has no literal credentials`).toBe(':');
          expect(interpolations(userinfo).at(-1)?.op, `${name}.DATABASE_URL password must be set`).toBe(':?');
        } else {
          expect(value, `${name}.${key} is only an interpolation`).toMatch(/^\$\{[A-Za-z_][A-Za-z0-9_]*[^}]*\}$/);
          expect(vars[0].op, `${name}.${key} must be set (\${VAR:?message})`).toBe(':?');
        }
      }
    }
  });

  it('yields a configuration core/src/env.ts accepts, and refuses to start without the secrets', () => {
    const dotenv: Record<string, string> = {
      POSTGRES_PASSWORD: 'a'.repeat(48),
      JWT_SECRET: 'b'.repeat(64),
      ENCRYPTION_KEY: 'c'.repeat(64),
      ADMIN_EMAIL: 'admin@example.com',
      ADMIN_PASSWORD: 'correct horse battery',
    };
    for (const name of FULL_PANEL) {
      const env = Object.fromEntries(Object.entries(envOf(services[name])).map(([k, v]) => [k, interpolate(v, dotenv)]));
      const cfg = parseEnv(env);
      expect(cfg.NODE_ENV).toBe('production');
      expect(cfg.DATABASE_URL).toBe(`postgresql://mailpanel:${'a'.repeat(48)}@postgres:5432/mailpanel`);
      expect(cfg.PORT).toBe(4000);
      for (const secret of Object.keys(dotenv)) {
        const { [secret]: _dropped, ...partial } = dotenv;
        expect(() => Object.values(envOf(services[name])).map((v) => interpolate(v, partial)), `${name} without ${secret}`).toThrow(secret);
      }
    }
  });

  it('publishes the api and panel ports, and not the database', () => {
    const published = (s: Service) => (s.ports ?? []).map((p) => (typeof p === 'object' ? String(p.target) : String(p).split(':').pop()));
    expect(published(services.api)).toContain(envOf(services.api).PORT);
    expect(published(services.web)).toContain(envOf(services.web).PORT);
    expect(services.postgres.ports ?? []).toEqual([]);
  });

  it('declares the named volumes it mounts: database, panel data and the shared vmail', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const mounts = (s: Service) =>
      (s.volumes ?? []).map((v) => (typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1] } : { source: v.source ?? '', target: v.target ?? '' }));
    for (const [name, service] of Object.entries(services)) {
      for (const { source } of mounts(service)) {
        if (/^[./~]/.test(source) || source.startsWith('$')) continue; // bind mounts
        expect(declared, `${name} mounts volume ${source}`).toContain(source);
      }
    }
    expect(mounts(services.postgres)).toContainEqual({ source: expect.any(String), target: '/var/lib/postgresql/data' });
    for (const name of FULL_PANEL) {
      const env = envOf(services[name]);
      expect(mounts(services[name]), `${name} MAIL_ROOT on vmail`).toContainEqual({ source: 'vmail', target: env.MAIL_ROOT });
      expect(mounts(services[name]).some((m) => m.target === env.DATA_DIR && declared.includes(m.source)), `${name} DATA_DIR on a volume`).toBe(true);
    }
  });

  it('keeps optional services out of a plain `up` until their dependencies exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const dep of Object.keys(dependsOn(service))) expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
    }
    if (services.roundcube) {
      expect(services.roundcube.image).toMatch(/^roundcube\/roundcubemail\b/);
      const mailServicesExist = ['dovecot', 'postfix'].every((s) => s in services);
      if (!mailServicesExist) expect(services.roundcube.profiles ?? []).not.toEqual([]);
    }
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = existsSync(path.join(root, 'Dockerfile')) ? read('Dockerfile') : '';
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('builds on node:20-bookworm-slim with npm ci and builds the panel', () => {
    expect(dockerfile, 'Dockerfile exists').not.toBe('');
    expect(instructions.filter((l) => /^FROM\s/i.test(l)).every((l) => /^FROM\s+node:20-bookworm-slim\b/i.test(l))).toBe(true);
    const runs = instructions.filter((l) => /^RUN\s/i.test(l)).join('\n');
    expect(runs).toMatch(/\bnpm ci\b/);
    expect(runs).toMatch(/\bnpm run build:web\b/);
    expect(runs).not.toMatch(/\bnpm install\b/);
  });

  it('has an entry point that starts each process the compose file asks for', () => {
    const entry = /^ENTRYPOINT\s+\[\s*"([^"]+)"/im.exec(dockerfile)?.[1];
    expect(entry).toBeDefined();
    const script = read(path.relative('/app', entry!));
    for (const name of PANEL) {
      const command = [services[name].command].flat()[0]!;
      expect(script, `entry point handles "${command}"`).toMatch(new RegExp(`^\\s*${command}\\)`, 'm'));
    }
    expect(script).toContain('scripts/start.ts');
    expect(script).toContain('web/build/index.js');
  });

  it('keeps local state and secrets out of the build context', () => {
    const ignore = read('.dockerignore').split(/\r?\n/).map((l) => l.trim());
    for (const entry of ['node_modules', '.data', '.env', 'web/build', 'web/.svelte-kit', 'core/src/generated', '.git']) {
      expect(ignore.some((l) => l === entry || l === `**/${entry}`), `.dockerignore has ${entry}`).toBe(true);
    }
  });
});
