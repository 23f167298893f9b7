// Sessions: login (panel users by e-mail, mailbox owners by mailbox address), rotating refresh tokens
// and logout. Refresh tokens are random, stored as sha256, single-use: each refresh marks the
// presented token used and issues its successor in the same family; presenting a used token again
// means it was stolen or replayed, so the whole family (that login) is revoked — unless it comes
// within REFRESH_REUSE_GRACE_SECONDS of its first use: a page reloaded while its refresh was in flight,
// or two tabs refreshing at once, present the same token moments apart and get a successor each.
import { randomUUID } from 'node:crypto';
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { AuthenticationError } from '@mailpanel/core/errors';
import { displayAddress, normalizeAddress } from '@mailpanel/core/validation';
import { decoyHash, verifyPassword } from '@mailpanel/core/crypto/password';
import { randomToken, sha256 } from '@mailpanel/core/crypto/tokens';
import type { Viewer } from '../context.js';
import { signAccessToken } from './access-token.js';
import { revocations } from './revocation.js';
import type { LoginThrottle } from './login-throttle.js';

type Subject = Exclude<Viewer, { kind: 'anonymous' }>;

export interface Session {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  viewer: Subject;
}

const INVALID = 'Wrong e-mail address or password';

/** A rotated refresh token was presented again: the login it belongs to has been revoked. */
export class RefreshTokenReuseError extends AuthenticationError {
  constructor(readonly subject: { userId: string | null; mailboxId: string | null }) {
    super('Session expired, please log in again');
  }
}

type Candidate = { subject: Subject; hash: string; active: boolean };

/** A login name can be both a panel user's e-mail and a mailbox address (a customer's own mailbox);
 *  both are candidates, the panel user first. */
async function findCandidates(login: string): Promise<Candidate[]> {
  const [user, mailbox] = await Promise.all([
    db().user.findUnique({ where: { email: login } }),
    db().mailbox.findUnique({ where: { address: login }, include: { domain: true } }),
  ]);
  const found: Candidate[] = [];
  if (user)
    found.push({
      subject: { kind: 'user', userId: user.id, role: user.role, customerId: user.customerId, label: user.email, access: 'SESSION' },
      hash: user.passwordHash,
      active: !user.disabled,
    });
  if (mailbox)
    found.push({
      subject: { kind: 'mailbox', mailboxId: mailbox.id, customerId: mailbox.domain.customerId, label: displayAddress(mailbox.address) },
      hash: mailbox.passwordHash,
      active: mailbox.status === 'ACTIVE' && mailbox.provisioning !== 'DELETING' && mailbox.domain.enabled,
    });
  return found;
}

async function issue(login: Subject, familyId: string): Promise<Session> {
  const subject: Subject = { ...login, sessionId: familyId };
  revocations.prime(subject);
  const refreshToken = randomToken('mprt');
  const refreshTokenExpiresAt = new Date(Date.now() + config().REFRESH_TOKEN_TTL_SECONDS * 1000);
  await db().refreshToken.create({
    data: {
      familyId,
      tokenHash: sha256(refreshToken),
      userId: subject.kind === 'user' ? subject.userId : null,
      mailboxId: subject.kind === 'mailbox' ? subject.mailboxId : null,
      expiresAt: refreshTokenExpiresAt,
    },
  });
  const access = await signAccessToken(subject);
  return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, refreshTokenExpiresAt, viewer: subject };
}

/** What a login attempt did to the throttle, for the audit log (session.ts records it). */
export interface LoginOutcome {
  lockedScope: import('./login-throttle.js').ThrottleScope | null;
  accountSlowed: boolean;
}

export class FailedLoginError extends AuthenticationError {
  constructor(
    message: string,
    readonly outcome: LoginOutcome,
  ) {
    super(message);
  }
}

export async function login(throttle: LoginThrottle, loginName: string, password: string, ip: string | null): Promise<Session> {
  // One account whichever form of an internationalised domain was typed (info@bücher.test or
  // info@xn--bcher-kva.test): the stored form is looked up and throttled.
  const account = normalizeAddress(loginName) ?? loginName.trim().toLowerCase();
  const attempt = await throttle.begin(account, ip);
  let found: Candidate | null;
  try {
    if (attempt.delayMs > 0) await new Promise((r) => setTimeout(r, attempt.delayMs));
    const candidates = await findCandidates(account);
    found = await throttle.withHashSlot(async () => {
      // An unknown login still costs one verification, so timing does not reveal which accounts exist.
      if (candidates.length === 0) await verifyPassword(await decoyHash(), password);
      for (const c of candidates) if (await verifyPassword(c.hash, password)) return c;
      return null;
    });
  } catch (err) {
    await attempt.release();
    throw err;
  }
  if (!found || !found.active) {
    const outcome = await attempt.failed();
    throw new FailedLoginError(found ? 'This account is disabled' : INVALID, outcome);
  }
  await attempt.succeeded();
  return issue(found.subject, randomUUID());
}

export async function refresh(token: string): Promise<Session> {
  const row = await db().refreshToken.findUnique({
    where: { tokenHash: sha256(token) },
    include: { user: true, mailbox: { include: { domain: true } } },
  });
  if (!row || row.revokedAt || row.expiresAt < new Date()) throw new AuthenticationError('Session expired, please log in again');
  // Single use: only the first presenter wins the update; a replay revokes the family.
  const claimed = await db().refreshToken.updateMany({ where: { id: row.id, usedAt: null }, data: { usedAt: new Date() } });
  if (claimed.count === 0 && !(await withinReuseGrace(row.id))) {
    await revokeFamily(row.familyId);
    throw new RefreshTokenReuseError({ userId: row.userId, mailboxId: row.mailboxId });
  }
  let subject: Subject;
  if (row.user && !row.user.disabled) {
    const u = row.user;
    subject = { kind: 'user', userId: u.id, role: u.role, customerId: u.customerId, label: u.email, access: 'SESSION' };
  } else if (row.mailbox && row.mailbox.status === 'ACTIVE' && row.mailbox.provisioning !== 'DELETING' && row.mailbox.domain.enabled) {
    const m = row.mailbox;
    subject = { kind: 'mailbox', mailboxId: m.id, customerId: m.domain.customerId, label: displayAddress(m.address) };
  } else {
    await revokeFamily(row.familyId);
    throw new AuthenticationError('This account is disabled');
  }
  return issue(subject, row.familyId);
}

/** Whether a used token's first use was a moment ago (and its login still stands). */
async function withinReuseGrace(id: string): Promise<boolean> {
  const used = await db().refreshToken.findUnique({ where: { id }, select: { usedAt: true, revokedAt: true } });
  const graceMs = config().REFRESH_REUSE_GRACE_SECONDS * 1000;
  return !!used?.usedAt && !used.revokedAt && Date.now() - used.usedAt.getTime() <= graceMs;
}

export async function revokeFamily(familyId: string): Promise<void> {
  await db().refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: new Date() } });
}

/** Ends the login the token belongs to; returns whose it was, or null for an unknown token. */
export async function logout(token: string): Promise<{ userId: string | null; mailboxId: string | null } | null> {
  const row = await db().refreshToken.findUnique({ where: { tokenHash: sha256(token) } });
  if (!row) return null;
  await revokeFamily(row.familyId);
  return { userId: row.userId, mailboxId: row.mailboxId };
}
