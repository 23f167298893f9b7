// docker-compose.yml cannot be run here (no Docker engine), so its structure is checked instead:
// the services, how they start and wait for each other, their health checks, their environment
// (complete, valid for core/src/env.ts, and with no secret written into the file), and the volumes.
// The Dockerfile, its entry point and .dockerignore are checked alongside. The email-security wiring
// (rspamd on the rendered configuration, the worker's maps and DKIM keys, the quarantine, the policy
// service) is checked from both sides: what each container's code or rendered config reads, against
// what the compose file gives it; the policy service's health check runs against a real service.
import { spawn } from 'node:child_process';
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
  build?: string | { context?: string; dockerfile?: string; args?: Record<string, string> };
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: Healthcheck;
  restart?: string;
  volumes?: (string | { type?: string; source?: string; target?: string; read_only?: boolean })[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  profiles?: string[];
  user?: string;
  deploy?: { replicas?: number };
  container_name?: string;
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
    // The worker serves no HTTP: its health is the heartbeat file scripts/worker.ts rewrites in its DATA_DIR.
    expect(healthTest(services.worker)).toContain(`${envOf(services.worker).DATA_DIR}/worker-heartbeat`);
    expect(read('scripts/worker.ts')).toContain("'worker-heartbeat'");
  });

  it('runs the jobs in the worker service only', () => {
    expect(String((services.api as { environment?: Record<string, unknown> }).environment?.RUN_WORKER)).toBe('false');
    expect((services.worker as { command?: string[] }).command).toEqual(['worker']);
    expect(read('docker/entrypoint.sh')).toMatch(/worker\)\s*\n\s*exec node --import tsx scripts\/worker\.ts/);
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

  it('publishes the proxy (in front of the api replicas) and the panel, not the api replicas or the database', () => {
    const published = (s: Service) => (s.ports ?? []).map((p) => (typeof p === 'object' ? String(p.target) : String(p).split(':').pop()));
    // Replicas cannot share a host port: the api is reached through the proxy.
    expect(services.api.ports ?? []).toEqual([]);
    expect(published(services.proxy)).toContain('80');
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
    }
    const api = envOf(services.api);
    expect(mounts(services.api).some((m) => m.target === api.DATA_DIR && declared.includes(m.source)), 'api DATA_DIR on a volume').toBe(true);
    // Each worker replica's DATA_DIR is its own (its heartbeat file): never a volume the replicas share.
    const worker = envOf(services.worker);
    expect(mounts(services.worker).some((m) => m.target === worker.DATA_DIR || worker.DATA_DIR.startsWith(`${m.target}/`)), 'worker DATA_DIR not on a volume').toBe(false);
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

/** One Caddyfile line and the block it opens: `words` are its tokens, `children` the lines inside its braces. */
interface CaddyNode {
  words: string[];
  children: CaddyNode[];
}

/** The Caddyfile's nesting, enough to read its sites, matchers and directives (no snippets or imports). */
function parseCaddyfile(text: string): CaddyNode[] {
  const root: CaddyNode = { words: [], children: [] };
  const stack = [root];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    if (line === '}') {
      stack.pop();
      expect(stack.length, 'Caddyfile braces balance').toBeGreaterThan(0);
      continue;
    }
    const opens = line.endsWith('{');
    const node: CaddyNode = { words: (opens ? line.slice(0, -1) : line).trim().split(/\s+/).filter(Boolean), children: [] };
    stack.at(-1)!.children.push(node);
    if (opens) stack.push(node);
  }
  expect(stack.length, 'Caddyfile braces balance').toBe(1);
  return root.children;
}

const directives = (nodes: CaddyNode[], name: string) => nodes.filter((n) => n.words[0] === name);

describe('docker-compose.yml: api and worker replicas behind the proxy (docs/scaling.md)', () => {
  const caddyfile = 'deploy/caddy/Caddyfile';
  const sites = parseCaddyfile(read(caddyfile)).filter((n) => n.words.length > 0);
  const proxyPort = (services.proxy?.ports ?? []).map((p) => Number(String(p).split(':').pop()))[0];
  const site = sites.find((n) => n.words.includes(`:${proxyPort}`));
  /** The handle block a request path ends up in: the first named matcher whose `path` list matches, else the catch-all. */
  const handleFor = (requestPath: string) => {
    const matchers = new Map(
      site!.children.filter((n) => n.words[0]?.startsWith('@')).map((n) => [n.words[0]!, n.words[1] === 'path' ? n.words.slice(2) : []] as const),
    );
    const matches = (pattern: string) => (pattern.endsWith('*') ? requestPath.startsWith(pattern.slice(0, -1)) : requestPath === pattern);
    const handles = directives(site!.children, 'handle');
    return handles.find((h) => h.words[1] && matchers.get(h.words[1])?.some(matches)) ?? handles.find((h) => h.words.length === 1);
  };
  /** The upstream a handle block proxies to: `dynamic a <service> <port>`, with its load-balancing settings. */
  const upstreamOf = (handle: CaddyNode | undefined) => {
    const proxy = directives(handle?.children ?? [], 'reverse_proxy')[0];
    const dynamic = directives(proxy?.children ?? [], 'dynamic')[0];
    return { proxy, source: dynamic?.words[1], service: dynamic?.words[2], port: dynamic?.words[3], settings: proxy?.children ?? [] };
  };

  it('runs api and worker as several replicas, none pinned to a name or a host port', () => {
    for (const name of FULL_PANEL) {
      expect(services[name].deploy?.replicas, `${name} replicas`).toBeGreaterThanOrEqual(2);
      expect(services[name].container_name, `${name} container_name (one container only)`).toBeUndefined();
      expect(services[name].ports ?? [], `${name} host ports (replicas cannot share one)`).toEqual([]);
    }
  });

  it('has a proxy service on Caddy, with the Caddyfile mounted read-only, starting once api and web are healthy', () => {
    const proxy = services.proxy!;
    expect(proxy.image).toMatch(/^caddy:2\.(\d+)/);
    expect(Number(/^caddy:2\.(\d+)/.exec(proxy.image!)![1]), '`dynamic a` upstreams need Caddy 2.6 or later').toBeGreaterThanOrEqual(6);
    expect(proxy.volumes).toContainEqual(`./${caddyfile}:/etc/caddy/Caddyfile:ro`);
    expect(existsSync(path.join(root, caddyfile))).toBe(true);
    expect(dependsOn(proxy).api?.condition).toBe('service_healthy');
    expect(dependsOn(proxy).web?.condition).toBe('service_healthy');
    expect(healthTest(proxy)).toContain(`http://127.0.0.1:${proxyPort}/healthz`);
    // The origin the panel announces is the proxy's published port.
    const published = String(proxy.ports![0]).split(':').slice(0, -1).join(':');
    expect(interpolate(envOf(services.api).PUBLIC_URL!, {})).toBe(`http://localhost:${interpolate(published, {})}`);
  });

  it('routes /graphql (HTTP and WebSocket) and /healthz to every api replica, round-robin, without sticky sessions', () => {
    expect(site, `a site on :${proxyPort}, the port the compose file publishes`).toBeDefined();
    for (const requestPath of ['/graphql', '/healthz']) {
      const up = upstreamOf(handleFor(requestPath));
      expect(up.proxy, `${requestPath} is reverse-proxied`).toBeDefined();
      // `dynamic a`: every address Docker's DNS has for the service, i.e. every replica, re-resolved.
      expect([up.source, up.service, up.port], `${requestPath} upstream`).toEqual(['a', 'api', envOf(services.api).PORT]);
      const policy = directives(up.settings, 'lb_policy')[0]?.words[1];
      expect(['round_robin', 'least_conn', 'random'], `${requestPath} lb_policy (no affinity)`).toContain(policy);
    }
    // WebSocket: Caddy's reverse_proxy passes the Upgrade through unless told otherwise; nothing here
    // strips the hop-by-hop headers or forces an HTTP/2-only transport (which has no Upgrade).
    const settings = JSON.stringify(upstreamOf(handleFor('/graphql')).settings);
    expect(settings).not.toMatch(/header_up","-?(Upgrade|Connection)/i);
    expect(settings).not.toMatch(/"versions"/);
    // No affinity anywhere in the file (cookie, client address, header, URI or query hashing).
    expect(read(caddyfile)).not.toMatch(/lb_policy\s+(cookie|ip_hash|client_ip_hash|uri_hash|header|query)/);
  });

  it('serves the panel: every other path goes to web', () => {
    for (const requestPath of ['/', '/mailboxes', '/login']) {
      const up = upstreamOf(handleFor(requestPath));
      expect([up.source, up.service, up.port], `${requestPath} upstream`).toEqual(['a', 'web', envOf(services.web).PORT]);
    }
  });

  it('gives the api the client address the proxy forwards (login throttling counts per address)', () => {
    expect(envOf(services.api).TRUST_PROXY).toBe('true');
    expect(parseEnv({ ...Object.fromEntries(Object.entries(envOf(services.api)).map(([k, v]) => [k, interpolate(v, { POSTGRES_PASSWORD: 'p', JWT_SECRET: 'j'.repeat(32), ENCRYPTION_KEY: 'e'.repeat(64), ADMIN_EMAIL: 'a@b.example', ADMIN_PASSWORD: 'x'.repeat(12) })])) }).TRUST_PROXY).toBe(true);
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = existsSync(path.join(root, 'Dockerfile')) ? read('Dockerfile') : '';
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('builds on the node image of the pinned Node (package.json devDependencies.node) with npm ci and builds the panel', () => {
    expect(dockerfile, 'Dockerfile exists').not.toBe('');
    const pinned = JSON.parse(read('package.json')).devDependencies.node as string;
    const froms = instructions.filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from).toMatch(new RegExp(`^FROM\\s+node:${pinned.replace(/\./g, '\\.')}-bookworm-slim\\s`, 'i'));
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

describe('docker-compose.yml: the mail services', () => {
  const MAIL_IMAGES = ['dovecot', 'postfix', 'rspamd', 'redis'] as const;
  const MAIL = ['mail-config', ...MAIL_IMAGES, 'policy', 'roundcube'] as const;
  const dotenv: Record<string, string> = {
    POSTGRES_PASSWORD: 'a'.repeat(48),
    JWT_SECRET: 'b'.repeat(64),
    ENCRYPTION_KEY: 'c'.repeat(64),
    ADMIN_EMAIL: 'admin@example.com',
    ADMIN_PASSWORD: 'correct horse battery',
    MAIL_HOSTNAME: 'mail.example.com',
    POSTMASTER_ADDRESS: 'postmaster@example.com',
  };
  const resolved = (name: string) => Object.fromEntries(Object.entries(envOf(services[name])).map(([k, v]) => [k, interpolate(v, dotenv)]));
  const mounts = (s: Service) =>
    (s.volumes ?? []).map((v) =>
      typeof v === 'string' ? { source: v.split(':')[0], target: v.split(':')[1], mode: v.split(':')[2] ?? 'rw' } : { source: v.source ?? '', target: v.target ?? '', mode: v.read_only ? 'ro' : 'rw' },
    );
  const dockerfileOf = (name: string) => {
    const b = services[name].build;
    return typeof b === 'object' ? b.dockerfile ?? 'Dockerfile' : 'Dockerfile';
  };
  const installScript = read('deploy/install-debian.sh');
  const debianPackages = /^PACKAGES=\(([^)]*)\)/m.exec(installScript)![1]!.split(/\s+/).filter(Boolean);

  it('defines mail-config, dovecot, postfix, rspamd, redis, policy and roundcube, each restarting with a health check', () => {
    for (const name of MAIL) {
      expect(services, `service ${name}`).toHaveProperty(name);
      expect(services[name].healthcheck?.test, `${name} healthcheck`).toBeDefined();
    }
    expect(services.roundcube.profiles ?? []).toEqual([]);
    expect(healthTest(services.dovecot)).toMatch(/\/dev\/tcp\/127\.0\.0\.1\/143\b/);
    expect(healthTest(services.postfix)).toMatch(/postfix -c \/etc\/mailpanel\/postfix status/);
    expect(healthTest(services.redis)).toMatch(/redis-cli ping/);
    expect(healthTest(services.rspamd)).toMatch(/\/ping\b/);
  });

  it('builds dovecot, postfix, rspamd and redis from deploy/docker/<service> on Debian 12, with install-debian.sh and its packages only', () => {
    for (const name of MAIL_IMAGES) {
      const b = services[name].build;
      expect(typeof b === 'object' ? b.context : b, `${name} build context`).toBe('.');
      expect(dockerfileOf(name)).toBe(`deploy/docker/${name}/Dockerfile`);
      const lines = read(dockerfileOf(name))
        .replace(/\\\r?\n/g, ' ')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
      expect(lines.filter((l) => /^FROM\s/i.test(l)).every((l) => /^FROM\s+debian:bookworm(-slim)?\b/i.test(l)), `${name} FROM`).toBe(true);
      const runs = lines.filter((l) => /^RUN\s/i.test(l)).join('\n');
      expect(runs, `${name} installs through the script`).not.toMatch(/apt-get install/);
      const install = /install-debian\.sh((?:\s+[a-z0-9.+-]+)+)/.exec(runs);
      expect(install, `${name} runs install-debian.sh with its packages`).not.toBeNull();
      for (const pkg of install![1]!.trim().split(/\s+/)) expect(debianPackages, `${name}: ${pkg}`).toContain(pkg);
      for (const m of lines.join('\n').matchAll(/^COPY\s+(\S+)/gim)) expect(existsSync(path.join(root, m[1]!)), `${name} copies ${m[1]}`).toBe(true);
    }
  });

  it('renders the mail configuration once, in the panel image, into a volume dovecot and postfix mount read-only', () => {
    const mc = services['mail-config'];
    expect(mc.image).toBe(services.api.image);
    expect([mc.command].flat().join(' ')).toContain('deploy/docker/mail-config.ts');
    expect(existsSync(path.join(root, 'deploy/docker/mail-config.ts'))).toBe(true);
    expect(dependsOn(mc).api?.condition, 'after the migrations').toBe('service_healthy');
    const target = mounts(mc).find((m) => m.source === 'mailconfig')?.target;
    expect(target).toBe('/etc/mailpanel-rendered');
    for (const name of ['dovecot', 'postfix']) {
      expect(mounts(services[name])).toContainEqual({ source: 'mailconfig', target: '/run/mailpanel-config', mode: 'ro' });
      expect(read(`deploy/docker/${name}/entrypoint.sh`)).toContain('/run/mailpanel-config');
      expect(dependsOn(services[name])['mail-config']?.condition).toBe('service_completed_successfully');
      expect(dependsOn(services[name]).postgres?.condition).toBe('service_healthy');
    }
    expect(dependsOn(services.postfix).dovecot?.condition).toBe('service_healthy');
    expect(dependsOn(services.rspamd).redis?.condition).toBe('service_healthy');
    expect(dependsOn(services.roundcube)).toMatchObject({ dovecot: { condition: 'service_healthy' }, postfix: { condition: 'service_healthy' } });
    // mail-config refuses to start without the mail server's identity
    for (const key of ['MAIL_HOSTNAME', 'POSTMASTER_ADDRESS']) {
      const { [key]: _dropped, ...partial } = dotenv;
      expect(() => Object.values(envOf(mc)).map((v) => interpolate(v, partial)), `without ${key}`).toThrow(key);
    }
  });

  it('shares the Maildirs between dovecot and the worker only; the worker owns them for vmail', () => {
    const worker = resolved('worker');
    expect(mounts(services.dovecot)).toContainEqual({ source: 'vmail', target: worker.MAIL_ROOT, mode: 'rw' });
    expect(mounts(services.postfix).map((m) => m.source)).not.toContain('vmail');
    expect(services.worker.user).toBe('0:0');
    const mc = resolved('mail-config');
    expect([worker.MAIL_UID, worker.MAIL_GID]).toEqual([mc.VMAIL_UID, mc.VMAIL_GID]);
    expect(parseEnv(worker).MAIL_UID).toBe(5000);
    for (const name of PANEL) for (const dep of Object.keys(dependsOn(services[name]))) expect(MAIL, `${name} depends on ${dep}`).not.toContain(dep);
  });

  it('publishes IMAP, MX and submission on MAIL_BIND (loopback by default), nothing of rspamd, redis and policy', () => {
    const bound = (s: Service) => (s.ports ?? []).map((p) => interpolate(String(p), {}));
    expect(bound(services.dovecot)).toEqual(['127.0.0.1:143:143']);
    expect(bound(services.postfix)).toEqual(['127.0.0.1:25:25', '127.0.0.1:587:587']);
    expect(services.rspamd.ports ?? []).toEqual([]);
    expect(services.redis.ports ?? []).toEqual([]);
    expect(services.policy.ports ?? []).toEqual([]);
  });

  it('renders, from the compose settings, a configuration wired to the compose services and ports', async () => {
    const { settingsFromEnv, CONTAINER } = await import('../deploy/docker/mail-config.js');
    const { renderMailstackFiles } = await import('../deploy/render.js');
    const env = resolved('mail-config');
    const files = await renderMailstackFiles(settingsFromEnv(env, 'generated-password'));
    const kv = (text: string) => new Map([...text.matchAll(/^([a-z_]+) = ?(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    const main = kv(files['postfix/main.cf']);
    const dovecot = files['dovecot/dovecot.conf'];
    const { ports } = CONTAINER;
    expect(main.get('virtual_transport')).toBe(`lmtp:inet:dovecot:${ports.lmtp}`);
    expect(main.get('smtpd_sasl_path')).toBe(`inet:dovecot:${ports.saslAuth}`);
    expect(main.get('smtpd_milters')).toBe('inet:rspamd:11332');
    expect(main.get('maillog_file')).toBe('/dev/stdout');
    expect(main.get('relayhost')).toBe('');
    expect(kv(dovecot).get('submission_host')).toBe(`postfix:${ports.reinject}`);
    expect(kv(dovecot).get('log_path')).toBe('/dev/stderr');
    expect(kv(files['dovecot/dovecot-sql.conf.ext']).get('connect')).toBe('host=postgres port=5432 dbname=mailpanel user=mail_reader password=generated-password');
    expect(kv(files['postfix/pgsql-domains.cf']).get('hosts')).toBe('inet:postgres:5432');
    expect(kv(files['dovecot/dovecot-sql.conf.ext']).get('user_query')).toContain(`'${resolved('worker').MAIL_ROOT}/'`);
    // the published ports and health checks are the ports the daemons listen on
    const targets = (s: Service) => (s.ports ?? []).map((p) => Number(String(p).split(':').pop()));
    expect(targets(services.postfix)).toEqual([ports.smtp, ports.submission]);
    expect(targets(services.dovecot)).toEqual([ports.imap]);
    expect(files['postfix/master.cf']).toMatch(new RegExp(`^${ports.smtp} inet .* smtpd$`, 'm'));
    expect(files['postfix/master.cf']).toMatch(new RegExp(`^${ports.submission} inet .* smtpd$`, 'm'));
    expect(dovecot).toMatch(new RegExp(`inet_listener imap \\{\\n\\s+address = 0\\.0\\.0\\.0\\n\\s+port = ${ports.imap}\\n`));
    for (const name of ['dovecot', 'postfix']) {
      const exposed = /^EXPOSE\s+(.*)$/m.exec(read(dockerfileOf(name)))![1]!.split(/\s+/).map(Number);
      const needed = name === 'dovecot' ? [ports.imap, ports.lmtp, ports.saslAuth] : [ports.smtp, ports.submission, ports.reinject];
      expect(exposed.sort(), `${name} EXPOSE`).toEqual(needed.sort());
    }
  });

  describe('email security: rspamd, DKIM keys, quarantine, policy service', () => {
    const bySource = (s: Service, source: string) => mounts(s).filter((m) => m.source === source);
    const rspamdRendered = async (env = resolved('mail-config')) => {
      const { rspamdSettingsFromEnv } = await import('../deploy/docker/mail-config.js');
      const { renderRspamdFiles } = await import('../deploy/render-rspamd.js');
      return renderRspamdFiles(rspamdSettingsFromEnv(env));
    };
    const mailRendered = async (env = resolved('mail-config')) => {
      const { settingsFromEnv } = await import('../deploy/docker/mail-config.js');
      const { renderMailstackFiles } = await import('../deploy/render.js');
      return renderMailstackFiles(settingsFromEnv(env, 'generated-password'));
    };
    const policyHealthScript = () => {
      const t = services.policy.healthcheck?.test as string[];
      expect(t.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      return t[3]!;
    };

    it('rspamd runs the configuration rendered from deploy/templates/rspamd, mounted read-only as its LOCAL_CONFDIR', async () => {
      const { RENDER_DIRS, RSPAMD_CONTAINER } = await import('../deploy/docker/mail-config.js');
      const { RSPAMD_TEMPLATE_FILES } = await import('../core/src/render/rspamd.js');
      const [written] = bySource(services['mail-config'], 'rspamdconfig');
      expect(written?.target, 'mail-config writes rspamd config where its volume is').toBe(RENDER_DIRS.rspamd);
      expect(bySource(services.rspamd, 'rspamdconfig')).toEqual([{ source: 'rspamdconfig', target: RSPAMD_CONTAINER.localConfdir, mode: 'ro' }]);
      // rspamd's config holds no secret: it gets its own volume, not the one with the role's password
      expect(mounts(services.rspamd).map((m) => m.source)).not.toContain('mailconfig');
      const entry = read('deploy/docker/rspamd/entrypoint.sh');
      expect(entry).toContain(`CONF=${RSPAMD_CONTAINER.localConfdir}\n`);
      expect(entry).toMatch(/^exec \/usr\/bin\/rspamd -f -c \/etc\/rspamd\/rspamd\.conf -u _rspamd -g _rspamd "--var=LOCAL_CONFDIR=\$CONF"$/m);
      expect(entry).toMatch(/rspamadm "--var=LOCAL_CONFDIR=\$CONF" configtest/);
      const dockerfile = read(dockerfileOf('rspamd'));
      expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/local\/sbin\/mailpanel-rspamd"\]$/m);
      expect(dockerfile).toMatch(/^COPY deploy\/docker\/rspamd\/entrypoint\.sh \/usr\/local\/sbin\/mailpanel-rspamd$/m);
      expect(dockerfile, 'no configuration of its own baked into the image').not.toMatch(/local\.d/);
      expect(existsSync(path.join(root, 'deploy/docker/rspamd/local.d'))).toBe(false);
      const files = await rspamdRendered();
      expect(Object.keys(files).sort()).toEqual(RSPAMD_TEMPLATE_FILES.map((f) => f.replace(/^rspamd\//, '')).sort());
      expect(files['local.d/logging.inc']).toContain('type = "console";');
      expect(dependsOn(services.rspamd)['mail-config']?.condition).toBe('service_completed_successfully');
      expect(dependsOn(services.rspamd).redis?.condition).toBe('service_healthy');
    });

    it('the worker writes the maps and DKIM keys into volumes rspamd mounts read-only at the paths its rendered configuration reads', async () => {
      const { loadConfig } = await import('../core/src/env.js');
      const { dkimDir, rspamdMapsDir } = await import('../worker/src/email-security/files.js');
      const { SETTINGS_MAP, SELECTOR_MAP } = await import('../worker/src/email-security/rspamd-sync.js');
      const { dkimKeyFileName } = await import('../core/src/render/rspamd.js');
      const { RSPAMD_MAP_FILES } = await import('../deploy/docker/mail-config.js');
      const cfg = loadConfig(resolved('worker'));
      const maps = rspamdMapsDir(cfg);
      const keys = dkimDir(cfg);
      const worker = mounts(services.worker);
      const mapsVolume = worker.find((m) => m.target === maps);
      const keysVolume = worker.find((m) => m.target === keys);
      expect(mapsVolume, `worker mounts a volume at RSPAMD_MAPS_DIR ${maps}`).toMatchObject({ mode: 'rw' });
      expect(keysVolume, `worker mounts a volume at DKIM_DIR ${keys}`).toMatchObject({ mode: 'rw' });
      expect(mapsVolume!.source).not.toBe(keysVolume!.source);
      for (const v of [mapsVolume!, keysVolume!]) {
        expect(Object.keys(compose.volumes ?? {}), `${v.source} declared`).toContain(v.source);
        expect(bySource(services.rspamd, v.source), `rspamd mounts ${v.source} where the worker does`).toEqual([{ source: v.source, target: v.target, mode: 'ro' }]);
      }
      // mail-config renders with the same folders, and seeds the maps folder with empty maps
      const mc = resolved('mail-config');
      expect([mc.RSPAMD_MAPS_DIR, mc.DKIM_DIR]).toEqual([maps, keys]);
      expect(bySource(services['mail-config'], mapsVolume!.source)).toEqual([{ source: mapsVolume!.source, target: maps, mode: 'rw' }]);
      expect([...RSPAMD_MAP_FILES].sort()).toEqual([SETTINGS_MAP, SELECTOR_MAP].sort());
      // ...and the rendered configuration reads exactly those files, re-reading the maps by itself
      const files = await rspamdRendered();
      expect(files['rspamd.conf.override']).toContain(`settings = "file://${maps}/${SETTINGS_MAP}";`);
      expect(files['local.d/dkim_signing.conf']).toContain(`selector_map = "file://${maps}/${SELECTOR_MAP}";`);
      const keyPath = /^path = "(.*)";$/m.exec(files['local.d/dkim_signing.conf'])![1]!;
      expect(keyPath.replace('$domain', 'example.com').replace('$selector', 'mail')).toBe(path.join(keys, dkimKeyFileName('example.com', 'mail')));
      expect(files['local.d/options.inc']).toMatch(/^map_watch_interval = \d+(\.\d+)?s;$/m);
      // the entry point copies no maps (a copy would never change): rspamd reads the volume itself
      expect(read('deploy/docker/rspamd/entrypoint.sh')).not.toContain(maps);
    });

    it("the DKIM key files are readable by rspamd's user: the worker's DKIM_KEY_GROUP is the gid the rspamd image pins for _rspamd", async () => {
      const { resolveGroup } = await import('../worker/src/email-security/files.js');
      const { parseEnv: parse } = await import('../core/src/env.js');
      const dockerfile = read(dockerfileOf('rspamd'));
      const defaultGid = /^ARG RSPAMD_GID=(\d+)$/m.exec(dockerfile)?.[1];
      expect(defaultGid, 'the rspamd image pins a gid').toBeDefined();
      expect(dockerfile).toMatch(/groupmod -g "\$RSPAMD_GID" _rspamd/);
      expect(dockerfile).toMatch(/test "\$\(id -g _rspamd\)" = "\$RSPAMD_GID"/);
      expect(read('deploy/docker/rspamd/entrypoint.sh')).toMatch(/-u _rspamd -g _rspamd/);
      const args = (services.rspamd.build as { args?: Record<string, string> }).args ?? {};
      for (const vars of [dotenv, { ...dotenv, RSPAMD_GID: '6123' }]) {
        const workerEnv = Object.fromEntries(Object.entries(envOf(services.worker)).map(([k, v]) => [k, interpolate(v, vars)]));
        const gid = resolveGroup(parse(workerEnv).DKIM_KEY_GROUP, '/dev/null'); // numeric: no /etc/group needed
        expect(gid, 'worker DKIM_KEY_GROUP').toBe(Number(vars.RSPAMD_GID ?? defaultGid));
        expect(Number(interpolate(args.RSPAMD_GID ?? '', vars)), 'rspamd build arg RSPAMD_GID').toBe(gid);
      }
      // the worker can give the files that group (chown needs root)
      expect(services.worker.user).toBe('0:0');
    });

    it("quarantine: rspamd's header, Dovecot's spam.sieve installed where the rendered dovecot.conf runs it, the worker on the same Maildirs", async () => {
      const { CONTAINER } = await import('../deploy/docker/mail-config.js');
      const { QUARANTINE_NAMESPACE_DIR } = await import('../worker/src/quarantine/store.js');
      const { PANEL_SPAM_HEADER } = await import('../core/src/render/rspamd.js');
      const files = await mailRendered();
      const sieveBefore = /^\s*sieve_before = (\S+)$/m.exec(files['dovecot/dovecot.conf'])![1]!;
      expect(sieveBefore).toBe(`${CONTAINER.configDir}/dovecot/sieve/spam.sieve`);
      expect(files['dovecot/sieve/spam.sieve']).toContain(`header :is "${PANEL_SPAM_HEADER}" "quarantine"`);
      expect(files['dovecot/dovecot.conf']).toContain(`location = maildir:~/${QUARANTINE_NAMESPACE_DIR}`);
      // the dovecot entry point installs (and compiles) the rendered scripts at that path
      const entry = read('deploy/docker/dovecot/entrypoint.sh');
      const dst = /^DST=(\S+)$/m.exec(entry)![1]!;
      expect(`${dst}/sieve/spam.sieve`).toBe(sieveBefore);
      expect(entry).toMatch(/for f in "\$SRC"\/sieve\/\*\.sieve; do\n\s+install -m 0644 [^\n]*"\$f" "\$DST\/sieve\/"\n\s+\/usr\/bin\/sievec /);
      expect((await rspamdRendered())['local.d/milter_headers.conf']).toContain(`'${PANEL_SPAM_HEADER}'`);
      // Dovecot files into the Maildirs the worker scans and releases into
      const worker = resolved('worker');
      expect(mounts(services.dovecot)).toContainEqual({ source: 'vmail', target: worker.MAIL_ROOT, mode: 'rw' });
      expect(mounts(services.worker)).toContainEqual({ source: 'vmail', target: worker.MAIL_ROOT, mode: 'rw' });
    });

    it("Postfix's milter is rspamd's proxy worker, the only one listening on the network; Redis is the redis service", async () => {
      const { RSPAMD_CONTAINER } = await import('../deploy/docker/mail-config.js');
      const { ports } = RSPAMD_CONTAINER;
      expect(resolved('mail-config').MAIL_MILTER).toBe(`inet:rspamd:${ports.proxy}`);
      const files = await rspamdRendered();
      expect(files['local.d/worker-proxy.inc']).toContain(`bind_socket = "0.0.0.0:${ports.proxy}";`);
      expect(files['local.d/worker-proxy.inc']).toContain('milter = yes;');
      expect(files['local.d/worker-normal.inc']).toContain(`bind_socket = "127.0.0.1:${ports.normal}";`);
      expect(files['local.d/worker-controller.inc']).toContain(`bind_socket = "127.0.0.1:${ports.controller}";`);
      expect(healthTest(services.rspamd)).toContain(`/dev/tcp/127.0.0.1/${ports.controller}`);
      expect(/^EXPOSE\s+(.*)$/m.exec(read(dockerfileOf('rspamd')))![1]!.split(/\s+/).map(Number)).toContain(ports.proxy);
      expect(files['local.d/redis.conf']).toContain('servers = "redis:6379";');
      expect(/^EXPOSE\s+(.*)$/m.exec(read(dockerfileOf('redis')))![1]).toBe('6379');
      expect(read(dockerfileOf('redis'))).not.toMatch(/--port/);
    });

    it('the policy service runs in the panel image on a non-loopback address, at the port the rendered submission service asks', async () => {
      const policy = services.policy;
      expect(policy.image).toBe(services.api.image);
      const command = [policy.command].flat() as string[];
      expect(command).toEqual(['node', '--import', 'tsx', 'scripts/policy.ts']);
      expect(existsSync(path.join(root, 'scripts/policy.ts'))).toBe(true);
      expect(read('docker/entrypoint.sh'), 'the entry point runs other commands as given').toMatch(/^\s*\*\)\s*\n\s*exec "\$@"/m);
      expect(dependsOn(policy)).toMatchObject({ postgres: { condition: 'service_healthy' }, api: { condition: 'service_healthy' } });
      expect(dependsOn(services.postfix).policy?.condition).toBe('service_healthy');
      for (const vars of [dotenv, { ...dotenv, POLICY_PORT: '12040' }]) {
        const env = Object.fromEntries(Object.entries(envOf(policy)).map(([k, v]) => [k, interpolate(v, vars)]));
        const cfg = parseEnv(env);
        expect(cfg.DATABASE_URL).toMatch(/@postgres:5432\//);
        expect(cfg.POLICY_HOST, 'reachable from postfix inside the network').not.toMatch(/^(127\.|localhost$|::1$)/);
        expect(cfg.POLICY_PORT).toBe(Number(vars.POLICY_PORT ?? 10040));
        const mc = Object.fromEntries(Object.entries(envOf(services['mail-config'])).map(([k, v]) => [k, interpolate(v, vars)]));
        const master = (await mailRendered(mc))['postfix/master.cf'];
        const submission = master.split(/\n(?=\S)/).find((block) => block.includes('syslog_name=postfix/submission'))!;
        expect(submission).toMatch(new RegExp(`^\\s+-o smtpd_end_of_data_restrictions=check_policy_service,inet:policy:${cfg.POLICY_PORT}$`, 'm'));
      }
      // Fail-safe: nothing overrides Postfix's default (451 4.3.5 while the service is down).
      const files = await mailRendered();
      expect(files['postfix/main.cf'] + files['postfix/master.cf']).not.toMatch(/smtpd_policy_service_default_action/);
    });

    it('the policy health check passes against a running policy service, and fails when it cannot decide or is down', async () => {
      const { CounterStore } = await import('../worker/src/policy/counter-store.js');
      const { startPolicyServer } = await import('../worker/src/policy/server.js');
      const script = policyHealthScript();
      const check = (port: number) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, POLICY_PORT: String(port) }, stdio: 'ignore' });
          child.once('exit', (code) => resolve(code));
        });
      const store = new CounterStore(process.env.DATABASE_URL!);
      const server = await startPolicyServer({ store, host: '127.0.0.1', port: 0, cacheSeconds: 0 });
      const deadUrl = new URL(process.env.DATABASE_URL!);
      deadUrl.port = '1';
      const dead = new CounterStore(deadUrl.toString(), { max: 1 });
      const noDb = await startPolicyServer({ store: dead, host: '127.0.0.1', port: 0, cacheSeconds: 0 });
      try {
        expect(await check(server.port), 'healthy').toBe(0);
        expect(await check(noDb.port), 'database unreachable').toBe(1);
      } finally {
        await server.close();
        await noDb.close();
        await store.close();
        await dead.close();
      }
      expect(await check(server.port), 'service down').toBe(1);
    });
  });
});
