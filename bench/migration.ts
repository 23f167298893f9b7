// `npm run bench:migration`: IMAP migration throughput on the real daemons, the native copier against
// Dovecot's own `doveadm import`, on the same source data in the same run (needs root and the
// Debian packages of deploy/install-debian.sh, like the mail-stack suite).
//
// For each size (2,000 and 20,000 small messages in one source folder) it times:
//   - doveadm import   (imapc from the source Dovecot into an empty mailbox of the panel's Dovecot)
//   - native copier    (the production engine, runMigration(), fast path off, into another empty
//                       mailbox: imapflow FETCH from the source, MULTIAPPEND into Dovecot, progress
//                       and checkpoints written to PostgreSQL as in production)
//   - naive copier     (2,000 only: one FETCH and one APPEND per message, as many panels do)
// and prints messages/second and the ratio native / doveadm import. Goal: ≥ 0.5.
// BENCH_SIZES=500,2000 picks other sizes.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import argon2 from 'argon2';
import { startMailstack } from '../e2e/mailstack/harness.js';
import { startTestDatabase } from '../e2e/mailstack/pg-fixture.js';
import { startSourceDovecot } from '../e2e/mailstack/source-dovecot.js';
import { imap, message } from '../e2e/mailstack/migration-fixtures.js';
import { machine } from './lib/processes.js';

const SIZES = (process.env.BENCH_SIZES ?? '2000,20000').split(',').map(Number);
const SOURCE_PASSWORD = 'BenchSource1';
const TARGET_PASSWORD = 'BenchTarget1';

interface Row {
  n: number;
  doveadm: number;
  native: number;
  naive?: number;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('bench:migration needs root (it starts Dovecot and Postfix)');
  const db = await startTestDatabase();
  const ms = await startMailstack({ databaseUrl: db.url });
  const src = await startSourceDovecot();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'bench-migration-'));
  const rows: Row[] = [];
  try {
    Object.assign(process.env, {
      NODE_ENV: 'production',
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      ...ms.panelEnv,
      JWT_SECRET: randomBytes(32).toString('hex'),
      ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      MIGRATION_ALLOW_PRIVATE_SOURCES: 'true',
      LOG_LEVEL: 'warn',
    });
    const { db: prisma, closeDb } = await import('../core/src/db.js');
    const { config } = await import('../core/src/env.js');
    const { encryptSecret } = await import('../core/src/crypto/secretbox.js');
    const { runMigration } = await import('../worker/src/migration/run-migration.js');
    const { doveadmImport } = await import('../worker/src/migration/doveadm-import.js');
    const { DovecotTarget } = await import('../worker/src/migration/target-dovecot.js');

    const pkg = await db.client.query(`INSERT INTO hosting_packages (name) VALUES ('bench') RETURNING id`);
    const cust = await db.client.query(`INSERT INTO customers (name, package_id) VALUES ('bench', $1) RETURNING id`, [pkg.rows[0].id]);
    const dom = await db.client.query(`INSERT INTO domains (name, customer_id) VALUES ('bench.test', $1) RETURNING id`, [cust.rows[0].id]);
    const hash = await argon2.hash(TARGET_PASSWORD, { type: argon2.argon2id });
    const mailbox = async (local: string) =>
      (
        await db.client.query(
          `INSERT INTO mailboxes (local_part, domain_id, address, password_hash, quota_mb, status, provisioning)
           VALUES ($1, $2, $3, $4, 0, 'ACTIVE', 'READY') RETURNING id, address`,
          [local, dom.rows[0].id, `${local}@bench.test`, hash],
        )
      ).rows[0] as { id: string; address: string };
    const count = async (user: string) => {
      const t = await DovecotTarget.open({ doveadm: config().DOVEADM_PATH, config: ms.paths.dovecotConf, user });
      try {
        return await t.messageCount('Bulk');
      } finally {
        await t.close();
      }
    };

    for (const n of SIZES) {
      // One source folder of n small messages, the same data for every engine.
      const user = `bench${n}@legacy.test`;
      await src.addUser({ user, password: SOURCE_PASSWORD });
      const seeder = await DovecotTarget.open({ doveadm: config().DOVEADM_PATH, config: src.conf, user });
      await seeder.ensureFolder('Bulk');
      for (let i = 0; i < n; i += 1000) {
        await seeder.append(
          'Bulk',
          Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({
            uid: i + j + 1,
            raw: message({ subject: `bench message ${i + j}`, messageId: `<bench-${n}-${i + j}@legacy.test>`, body: `Short body ${i + j}.\r\n` }),
            flags: (i + j) % 2 ? ['\\Seen'] : [],
            internalDate: new Date(Date.UTC(2023, 0, 1) + (i + j) * 1000),
            size: 0,
          })),
        );
      }
      await seeder.close();
      const settings = { host: '127.0.0.1', port: src.port, security: 'NONE' as const, username: user, password: SOURCE_PASSWORD };

      // doveadm import into an empty mailbox.
      const a = await mailbox(`doveadm${n}`);
      let t0 = performance.now();
      const r = await doveadmImport({ doveadm: config().DOVEADM_PATH, config: ms.paths.dovecotConf, user: a.address, source: settings, folder: 'Bulk', fromUid: 1, toUid: n });
      const doveadmSeconds = (performance.now() - t0) / 1000;
      if (!r.ok) throw new Error(r.reason);
      if ((await count(a.address)) !== n) throw new Error('doveadm import did not copy every message');

      // The native copier (the production engine, fast path off) into another empty mailbox.
      const b = await mailbox(`native${n}`);
      const m = await prisma().migration.create({
        data: {
          mailboxId: b.id,
          createdByType: 'USER',
          createdByLabel: 'bench',
          sourceHost: settings.host,
          sourcePort: settings.port,
          sourceSecurity: 'NONE',
          sourceUsername: user,
          sourcePasswordEnc: encryptSecret(SOURCE_PASSWORD, config().encryptionKey),
        },
      });
      t0 = performance.now();
      const outcome = await runMigration(m.id, { fastPath: false });
      const nativeSeconds = (performance.now() - t0) / 1000;
      const row = await prisma().migration.findUniqueOrThrow({ where: { id: m.id } });
      if (outcome !== 'finished' || row.status !== 'SUCCEEDED') throw new Error(`native run: ${row.status} ${row.errorMessage ?? ''}`);
      if ((await count(b.address)) !== n) throw new Error('native copier did not copy every message');

      // The naive baseline: one FETCH and one APPEND per message (2,000 at most).
      let naive: number | undefined;
      if (n <= 2000) {
        const c = await mailbox(`naive${n}`);
        const from = imap(src.port, user, SOURCE_PASSWORD);
        const to = imap(ms.ports.imap, c.address, TARGET_PASSWORD);
        await from.connect();
        await to.connect();
        await from.mailboxOpen('Bulk', { readOnly: true });
        await to.mailboxCreate('Bulk').catch(() => {});
        t0 = performance.now();
        for (let uid = 1; uid <= n; uid++) {
          const msg = await from.fetchOne(String(uid), { source: true, flags: true, internalDate: true }, { uid: true });
          if (msg) await to.append('Bulk', msg.source!, [...(msg.flags ?? [])], msg.internalDate as Date);
        }
        naive = n / ((performance.now() - t0) / 1000);
        await from.logout();
        await to.logout();
      }
      rows.push({ n, doveadm: n / doveadmSeconds, native: n / nativeSeconds, naive });
      console.log(
        `${n} messages: doveadm import ${(n / doveadmSeconds).toFixed(0)} msg/s (${doveadmSeconds.toFixed(2)} s), ` +
          `native ${(n / nativeSeconds).toFixed(0)} msg/s (${nativeSeconds.toFixed(2)} s)${naive ? `, naive ${naive.toFixed(0)} msg/s` : ''}`,
      );
    }
    await closeDb();
  } finally {
    await src.stop();
    await ms.stop();
    await db.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  console.log('\nIMAP migration, source Dovecot → panel Dovecot (quota=count, quota_vsizes), same data, same run');
  console.log('messages | doveadm import msg/s | native msg/s | native / doveadm | naive msg/s (/ doveadm)');
  for (const r of rows)
    console.log(
      `${String(r.n).padStart(8)} | ${r.doveadm.toFixed(0).padStart(20)} | ${r.native.toFixed(0).padStart(12)} | ${(r.native / r.doveadm).toFixed(2).padStart(16)} | ${
        r.naive ? `${r.naive.toFixed(0)} (${(r.naive / r.doveadm).toFixed(2)})` : '-'
      }`,
    );
  const worst = Math.min(...rows.map((r) => r.native / r.doveadm));
  console.log(`\nratio native / doveadm import (worst size): ${worst.toFixed(2)} — goal ≥ 0.50: ${worst >= 0.5 ? 'met' : 'NOT met'}`);
  const table = [
    `IMAP migration into the panel's Dovecot, same source data, same run (${machine()}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end)`,
    '',
    '| messages | doveadm import msg/s (baseline) | native msg/s | native ÷ doveadm (goal ≥ 0.5) | naive copy msg/s |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.n.toLocaleString('en')} | ${r.doveadm.toFixed(0)} | ${r.native.toFixed(0)} | **${(r.native / r.doveadm).toFixed(2)}×** ${r.native / r.doveadm >= 0.5 ? 'met' : 'missed'} | ${r.naive ? r.naive.toFixed(0) : '—'} |`),
  ].join('\n');
  await mkdir('bench/results', { recursive: true });
  await writeFile('bench/results/migration.md', table + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
