// Dovecot's auth-policy reports (auth_policy_report_after_auth): after each mail login Dovecot POSTs
// the outcome here, with the passdb's `app_password` field (the id of the app password that matched,
// dovecot-sql.conf.ext). A successful one records the app password's last use — Dovecot reads the
// database through a read-only role and cannot write it itself. Answers Dovecot's {"status":0}
// ("no opinion") to everything; with auth_policy_check_before/after_auth off it never blocks a login.
// Authenticated by a shared bearer secret (DOVECOT_AUTH_POLICY_SECRET, rendered into dovecot.conf):
// without it configured the endpoint does not exist.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { db } from '@mailpanel/core/db';
import { audit } from './audit.js';
import { log } from '@mailpanel/core/logger';
import { safeEqual } from '@mailpanel/core/crypto/tokens';
import { UUID } from './global-id.js';
import { readBodyWithin } from './request-body.js';

export const AUTH_POLICY_PATH = '/internal/dovecot-auth-policy';
const MAX_BODY = 16 * 1024;

interface Report {
  app?: unknown;
  success?: unknown;
  protocol?: unknown;
  remote?: unknown;
}

/** Records a successful login with the app password `id`; its first use is also an audit event. */
async function recordUse(id: string, report: Report): Promise<void> {
  const now = new Date();
  await db().$transaction(async (tx) => {
    // Conditional, so two reports at once cannot both be "the first use".
    const first = await tx.appPassword.updateMany({ where: { id, revokedAt: null, lastUsedAt: null }, data: { lastUsedAt: now } });
    if (first.count === 0) {
      await tx.appPassword.updateMany({ where: { id, revokedAt: null }, data: { lastUsedAt: now } });
      return;
    }
    const ap = await tx.appPassword.findUniqueOrThrow({ where: { id }, include: { mailbox: { include: { domain: true } } } });
    const m = ap.mailbox;
    await audit(
      tx,
      {
        viewer: { kind: 'mailbox', mailboxId: m.id, customerId: m.domain.customerId, label: m.address },
        clientIp: typeof report.remote === 'string' ? report.remote.slice(0, 64) : null,
      },
      {
        action: 'app_password.first_use', targetType: 'Mailbox', targetId: m.id, targetLabel: m.address, customerId: m.domain.customerId,
        details: { name: ap.name, protocol: typeof report.protocol === 'string' ? report.protocol.slice(0, 16) : null },
      },
    );
  });
}

/** Handles one request to AUTH_POLICY_PATH. */
export async function handleAuthPolicy(req: IncomingMessage, res: ServerResponse, secret: string): Promise<void> {
  const given = req.headers.authorization ?? '';
  if (req.method !== 'POST' || !safeEqual(given, `Bearer ${secret}`)) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
  const body = await readBodyWithin(req, res, MAX_BODY);
  if (!body) return;
  const command = new URL(req.url ?? '/', 'http://x').searchParams.get('command');
  let report: Report = {};
  try {
    report = JSON.parse(body.toString('utf8')) as Report;
  } catch {
    /* not JSON: nothing to record */
  }
  if (command === 'report' && report.success === true && typeof report.app === 'string' && UUID.test(report.app))
    await recordUse(report.app, report).catch((err: unknown) => log.warn('auth policy: last use not recorded', { err }));
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":0,"msg":""}');
}
