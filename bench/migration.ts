// `npm run bench:migration`: IMAP migration throughput on the real daemons — the panel's native
// copier, its `doveadm import` fast path, and mbsync (Debian's isync, what people pick instead of a
// panel) — on the same source data in the same run (needs root and the Debian packages of
// deploy/install-debian.sh plus isync, like the mail-stack suite). Not run in CI.
//
// Fair by construction:
//   - two corpora, each seeded once into its own source user: "small" (20,000 small messages in one
//     folder) and "mixed" (2,000+ messages of 1 KB to 5 MB in 25 nested folders with Unicode names);
//   - the source's files are read once before timing (warm cache for every engine alike);
//   - each engine copies into a fresh, empty mailbox of the panel's Dovecot, BENCH_RUNS rounds
//     (default 3), the order rotating every round (native → doveadm → mbsync, then doveadm → mbsync
//     → native, …), so no engine always runs first or last;
//   - every copy is checked: the target holds exactly the source's message count, folder by folder;
//   - medians with min–max; the ratio lines divide median msg/s.
// The panel's engines run as in production (runMigration(): planning, progress rows in PostgreSQL,
// checkpoints, and the VERIFYING phase); mbsync runs IMAP to IMAP with a fresh state folder.
// Environment: BENCH_RUNS, BENCH_CORPORA=small,mixed, BENCH_SMALL_N (20000), BENCH_MIXED_N (2000).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import argon2 from 'argon2';
import { startMailstack } from '../e2e/mailstack/harness.js';
import { startTestDatabase } from '../e2e/mailstack/pg-fixture.js';
import { startSourceDovecot } from '../e2e/mailstack/source-dovecot.js';
import { message } from '../e2e/mailstack/migration-fixtures.js';
import { machine } from './lib/processes.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CORPORA = (process.env.BENCH_CORPORA ?? 'small,mixed').split(',');
const SMALL_N = Number(process.env.BENCH_SMALL_N ?? 20000);
const MIXED_N = Number(process.env.BENCH_MIXED_N ?? 2000);
const SOURCE_PASSWORD = 'BenchSource1';
const TARGET_PASSWORD = 'BenchTarget1';
const ENGINES = ['native', 'doveadm', 'mbsync'] as const;
type Engine = (typeof ENGINES)[number];

interface CorpusMessage {
  folder: string;
  raw: Buffer;
}

/** Deterministic pseudo-random numbers in [0, 1) from a label. */
function unit(label: string): number {
  return createHash('sha256').update(label).digest().readUInt32BE(0) / 2 ** 32;
}

function sized(subject: string, bytes: number, id: number): Buffer {
  const head = message({ subject, messageId: `<bench-${id}-${subject.length}@legacy.test>`, body: '' }).length;
  const raw = Math.max(0, Math.floor(((bytes - head - 200) * 3) / 4));
  const payload = createHash('sha512').update(String(id)).digest();
  const filler = Buffer.alloc(raw);
  for (let i = 0; i < raw; i += payload.length) payload.copy(filler, i);
  const b64 = filler.toString('base64').replace(/.{76}/g, '$&\r\n');
  return message({ subject, messageId: `<bench-${id}-${subject.length}@legacy.test>`, headers: 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n', body: `\r\n${b64}\r\n` });
}

const MIXED_FOLDERS = (() => {
  const tops = ['Kunden', 'Projekte', 'Archiv', 'Rechnungen', 'Reisen'];
  const children: Record<string, string[]> = {
    Kunden: ['Müller GmbH', 'Øresund AB', 'Škoda Händler', '東京支店'],
    Projekte: ['Überbau 2024', 'Café Zürich', 'Straße Nord', 'Ελλάδα'],
    Archiv: ['2019', '2020 – alt', 'Frühjahr', 'Ärger'],
    Rechnungen: ['Eingang', 'Ausgang', 'Mahnungen', 'Steuer – Belege'],
    Reisen: ['Köln', 'Malmö', 'Kraków', 'São Paulo'],
  };
  return ['INBOX', ...tops, ...tops.flatMap((t) => children[t]!.map((c) => `${t}.${c}`))];
})();

function corpus(name: string): CorpusMessage[] {
  if (name === 'small') return Array.from({ length: SMALL_N }, (_, i) => ({ folder: 'Bulk', raw: message({ subject: `small ${i}`, messageId: `<small-${i}@legacy.test>`, body: `\r\nShort body ${i}.\r\n` }) }));
  // Mixed: mostly small, some medium, a few large (1 KB … 5 MB), spread over 25 nested folders.
  return Array.from({ length: MIXED_N }, (_, i) => {
    const u = unit(`size ${i}`);
    const bytes = i === 0 ? 1024 : i === 1 ? 5 * 1024 * 1024 : u < 0.85 ? 1024 + Math.floor(unit(`s${i}`) * 15 * 1024) : u < 0.98 ? 16 * 1024 + Math.floor(unit(`m${i}`) * 496 * 1024) : 512 * 1024 + Math.floor(unit(`l${i}`) * 4.5 * 1024 * 1024);
    return { folder: MIXED_FOLDERS[i % MIXED_FOLDERS.length]!, raw: sized(`mixed ${i}`, bytes, i) };
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d) => {
      out = (out + d).slice(-20000);
      if (stdout.length < 1_000_000) stdout += d;
    });
    child.stderr.on('data', (d) => (out = (out + d).slice(-20000)));
    child.on('exit', (code) => resolve({ code: code ?? 1, out, stdout }));
  });
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench:migration needs root (it starts Dovecot and Postfix)');
  const db = await startTestDatabase();
  const ms = await startMailstack({ databaseUrl: db.url });
  // Every user at start: Dovecot's passwd-file may miss a user added right after a lookup.
  const src = await startSourceDovecot({ users: CORPORA.map((name) => ({ user: `${name}@legacy.test`, password: SOURCE_PASSWORD })) });
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-migration-'));
  // Ctrl-C or a kill stops the daemons this benchmark started, not only a normal end.
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    await src.stop().catch(() => {});
    await ms.stop().catch(() => {});
    await db.stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void stopAll().finally(() => process.exit(130)));
  const lines: string[] = [];
  const table: string[] = [];
  try {
    Object.assign(process.env, {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      ...ms.panelEnv,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      MIGRATION_ALLOW_PRIVATE_SOURCES: 'true',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    });
    const { db: prisma, closeDb } = await import('../core/src/db.js');
    const { config } = await import('../core/src/env.js');
    const { encryptSecret } = await import('../core/src/crypto/secretbox.js');
    const { runMigration } = await import('../worker/src/migration/run-migration.js');
    const { DovecotTarget } = await import('../worker/src/migration/target-dovecot.js');

    const pkg = await db.client.query(`INSERT INTO hosting_packages (name) VALUES ('bench') RETURNING id`);
    const cust = await db.client.query(`INSERT INTO customers (name, package_id) VALUES ('bench', $1) RETURNING id`, [pkg.rows[0].id]);
    const dom = await db.client.query(`INSERT INTO domains (name, customer_id) VALUES ('bench.test', $1) RETURNING id`, [cust.rows[0].id]);
    const hash = await argon2.hash(TARGET_PASSWORD, { type: argon2.argon2id });
    let seq = 0;
    const mailbox = async (label: string) =>
      (
        await db.client.query(
          `INSERT INTO mailboxes (local_part, domain_id, address, password_hash, quota_mb, status, provisioning)
           VALUES ($1, $2, $3, $4, 0, 'ACTIVE', 'READY') RETURNING id, address`,
          [`${label}${++seq}`, dom.rows[0].id, `${label}${seq}@bench.test`, hash],
        )
      ).rows[0] as { id: string; address: string };
    const messagesIn = async (user: string, conf: string) => {
      const r = await run('/usr/bin/doveadm', ['-c', conf, '-f', 'tab', 'mailbox', 'status', '-u', user, 'messages', '*']);
      if (r.code !== 0) throw new Error(r.out);
      return r.stdout
        .trim()
        .split('\n')
        .slice(1)
        .reduce((n, l) => n + Number(l.split('\t').at(-1)!.trim() || 0), 0);
    };

    const engines: Record<Engine, (user: string, target: { id: string; address: string }) => Promise<void>> = {
      native: (user, target) => panelRun(user, target, false),
      doveadm: (user, target) => panelRun(user, target, true),
      mbsync: async (user, target) => {
        const dir = await mkdtemp(path.join(dataDir, 'mbsync-'));
        await mkdir(path.join(dir, 'state'));
        const rc = path.join(dir, 'mbsyncrc');
        await writeFile(
          rc,
          [
            'IMAPAccount far',
            'Host 127.0.0.1',
            `Port ${src.port}`,
            `User ${user}`,
            `Pass ${SOURCE_PASSWORD}`,
            'SSLType None',
            'AuthMechs LOGIN',
            '',
            'IMAPStore far',
            'Account far',
            '',
            'IMAPAccount near',
            'Host 127.0.0.1',
            `Port ${ms.ports.imap}`,
            `User ${target.address}`,
            `Pass ${TARGET_PASSWORD}`,
            'SSLType None',
            'AuthMechs LOGIN',
            '',
            'IMAPStore near',
            'Account near',
            '',
            'Channel move',
            'Far :far:',
            'Near :near:',
            // Sent and Trash exist only in the target (the source calls them "Sent Messages", "Deleted Messages").
            'Patterns * !Sent !Trash',
            'Create Near',
            'Sync Pull',
            'Expunge None',
            'CopyArrivalDate yes',
            `SyncState ${path.join(dir, 'state')}/`,
            '',
          ].join('\n'),
          { mode: 0o600 },
        );
        const r = await run('/usr/bin/mbsync', ['-c', rc, '-q', 'move']);
        if (r.code !== 0) throw new Error(`mbsync exited ${r.code}: ${r.out}`);
      },
    };

    async function panelRun(user: string, target: { id: string; address: string }, fastPath: boolean) {
      const m = await prisma().migration.create({
        data: {
          mailboxId: target.id,
          createdByType: 'USER',
          createdByLabel: 'bench',
          sourceHost: '127.0.0.1',
          sourcePort: src.port,
          sourceSecurity: 'NONE',
          sourceUsername: user,
          sourcePasswordEnc: encryptSecret(SOURCE_PASSWORD, config().encryptionKey),
        },
      });
      const outcome = await runMigration(m.id, { fastPath });
      const row = await prisma().migration.findUniqueOrThrow({ where: { id: m.id }, include: { folders: true } });
      if (outcome !== 'finished' || row.status !== 'SUCCEEDED') throw new Error(`${fastPath ? 'doveadm' : 'native'} run: ${row.status} ${row.errorMessage ?? ''}`);
      if (fastPath && !row.folders.some((f) => f.engine === 'DOVEADM_IMPORT')) throw new Error('the fast path fell back everywhere: not a doveadm import measurement');
    }

    table.push(
      `IMAP migration into the panel's Dovecot, same source data, same run, ${RUNS} rounds in rotating order (${machine()})`,
      '',
      '| corpus | engine | msg/s median (min–max) | MB/s median | native ÷ engine |',
      '|---|---|---|---|---|',
    );
    for (const name of CORPORA) {
      const msgs = corpus(name);
      const user = `${name}@legacy.test`;
      const seeder = await DovecotTarget.open({ doveadm: config().DOVEADM_PATH, config: src.conf, user });
      const byFolder = new Map<string, Buffer[]>();
      for (const m of msgs) byFolder.set(m.folder, [...(byFolder.get(m.folder) ?? []), m.raw]);
      let uid = 0;
      for (const [folder, raws] of byFolder) {
        await seeder.ensureFolder(folder);
        for (let i = 0; i < raws.length; ) {
          const batch: Buffer[] = [];
          let bytes = 0;
          while (i < raws.length && batch.length < 500 && bytes < 16 * 1024 * 1024) bytes += raws[i]!.length, batch.push(raws[i++]!);
          await seeder.append(folder, batch.map((raw) => ({ uid: ++uid, raw, flags: uid % 2 ? ['\\Seen'] : [], internalDate: new Date(Date.UTC(2023, 0, 1) + uid * 1000), size: raw.length })));
        }
      }
      await seeder.close();
      const total = msgs.length;
      const megabytes = msgs.reduce((n, m) => n + m.raw.length, 0) / 1024 / 1024;
      const seeded = await messagesIn(user, src.conf);
      if (seeded !== total) throw new Error(`seeding the source failed: ${seeded} of ${total}`);
      // Warm the source's files once for everybody.
      await run('/bin/sh', ['-c', '"$@" > /dev/null', 'sh', '/usr/bin/doveadm', '-c', src.conf, 'fetch', '-u', user, 'text', 'all']);
      console.error(`${name}: ${total} messages, ${megabytes.toFixed(1)} MB in ${byFolder.size} folders`);

      const seconds: Record<Engine, number[]> = { native: [], doveadm: [], mbsync: [] };
      for (let round = 0; round < RUNS; round++) {
        const order = ENGINES.map((_, i) => ENGINES[(i + round) % ENGINES.length]!);
        for (const engine of order) {
          const target = await mailbox(engine);
          const t0 = performance.now();
          await engines[engine](user, target);
          const s = (performance.now() - t0) / 1000;
          const got = await messagesIn(target.address, ms.paths.dovecotConf);
          if (got !== total) throw new Error(`${engine} copied ${got} of ${total} messages`);
          seconds[engine].push(s);
          console.error(`  round ${round + 1} ${engine}: ${s.toFixed(2)} s (${(total / s).toFixed(0)} msg/s)`);
        }
      }
      const rate = (e: Engine) => seconds[e].map((s) => total / s);
      const med = (e: Engine) => median(rate(e));
      lines.push(`migration ${name}: native/doveadm median ${(med('native') / med('doveadm')).toFixed(2)}× (n=${RUNS}, alternating)`);
      lines.push(`migration ${name}: native/mbsync median ${(med('native') / med('mbsync')).toFixed(2)}×`);
      for (const e of ENGINES) {
        const r = rate(e);
        const mb = seconds[e].map((s) => megabytes / s);
        lines.push(`migration ${name}: ${e} ${med(e).toFixed(0)} msg/s (${Math.min(...r).toFixed(0)}–${Math.max(...r).toFixed(0)}), ${median(mb).toFixed(2)} MB/s (${Math.min(...mb).toFixed(2)}–${Math.max(...mb).toFixed(2)})`);
        table.push(
          `| ${name} (${total.toLocaleString('en')} msgs, ${megabytes.toFixed(0)} MB) | ${e} | ${med(e).toFixed(0)} (${Math.min(...r).toFixed(0)}–${Math.max(...r).toFixed(0)}) | ${median(mb).toFixed(2)} | ${e === 'native' ? '—' : `**${(med('native') / med(e)).toFixed(2)}×**`} |`,
        );
      }
    }
    await closeDb();
  } finally {
    await stopAll();
  }
  for (const l of lines) console.log(l);
  table.push('', `Goal: native ≥ 1.5 × doveadm import on the mixed corpus (median), and at least even with mbsync. Load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}.`);
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/migration.md', table.join('\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
