// Dovecot's auth-policy reports (auth_policy_report_after_auth): after each mail login Dovecot POSTs
// the outcome here, with the passdb's `app_password` field (the id of the app password that matched,
// dovecot-sql.conf.ext). A successful one records the app password's last use — Dovecot reads the
// database through a read-only role and cannot write it itself. Answers Dovecot's {"status":0}
// ("no opinion") to everything; with auth_policy_check_before/after_auth off it never blocks a login.
// Authenticated by a shared bearer secret (DOVECOT_AUTH_POLICY_SECRET, rendered into dovecot.conf):
// without it configured the endpoint does not exist.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { db } from '@mailpanel/core/db';
import { log } from '@mailpanel/core/logger';
import { safeEqual } from '@mailpanel/core/crypto/tokens';
import { UUID } from './global-id.js';
import { readBodyWithin } from './request-body.js';

export const AUTH_POLICY_PATH = '/internal/dovecot-auth-policy';
const MAX_BODY = 16 * 1024;

interface Report {
  app?: unknown;
  success?: unknown;
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
  if (command === 'report' && report.success === true && typeof report.app === 'string' && UUID.test(report.app)) {
    await db()
      .appPassword.updateMany({ where: { id: report.app, revokedAt: null }, data: { lastUsedAt: new Date() } })
      .catch((err: unknown) => log.warn('auth policy: last use not recorded', { err }));
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":0,"msg":""}');
}
