// Sessions: login (panel users by e-mail, mailbox owners by mailbox address), rotating refresh tokens
// and logout. Refresh tokens are random, stored as sha256, single-use: each refresh marks the
// presented token used and issues its successor in the same family; presenting a used token again
// means it was stolen or replayed, so the whole family (that login) is revoked — unless it comes
// within REFRESH_REUSE_GRACE_SECONDS of its first use: a page reloaded while its refresh was in flight,
// or two tabs refreshing at once, present the same token moments apart and get a successor each.
import { randomUUID } from 'node:crypto';
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { AppError, AuthenticationError } from '@mailpanel/core/errors';
import { displayAddress, normalizeAddress } from '@mailpanel/core/validation';
import { decoyHash, verifyPassword } from '@mailpanel/core/crypto/password';
import { randomToken, sha256 } from '@mailpanel/core/crypto/tokens';
import type { Viewer } from '../context.js';
import { signAccessToken } from './access-token.js';
import { revocations } from './revocation.js';
import type { LoginThrottle } from './login-throttle.js';
import { consumeCode, findTwoFactor, ownerOf, signChallenge, twoFactorRequired, verifyChallenge, type ChallengePurpose, type FactorUsed, type Owner } from './two-factor.js';

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

type UserRow = { id: string; email: string; role: 'ADMIN' | 'CUSTOMER'; customerId: string | null; disabled: boolean };
type MailboxRow = { id: string; address: string; status: string; provisioning: string; deletedAt: Date | null; domain: { customerId: string; enabled: boolean } };

function userSubject(u: UserRow): { subject: Subject; active: boolean } {
  return { subject: { kind: 'user', userId: u.id, role: u.role, customerId: u.customerId, label: u.email, access: 'SESSION' }, active: !u.disabled };
}
function mailboxSubject(m: MailboxRow): { subject: Subject; active: boolean } {
  return {
    subject: { kind: 'mailbox', mailboxId: m.id, customerId: m.domain.customerId, label: displayAddress(m.address) },
    active: m.status === 'ACTIVE' && m.provisioning !== 'DELETING' && !m.deletedAt && m.domain.enabled,
  };
}

/** A login name can be both a panel user's e-mail and a mailbox address (a customer's own mailbox);
 *  both are candidates, the panel user first. */
async function findCandidates(login: string): Promise<Candidate[]> {
  const [user, mailbox] = await Promise.all([
    db().user.findUnique({ where: { email: login } }),
    db().mailbox.findUnique({ where: { address: login }, include: { domain: true } }),
  ]);
  const found: Candidate[] = [];
  if (user) found.push({ ...userSubject(user), hash: user.passwordHash });
  if (mailbox) found.push({ ...mailboxSubject(mailbox), hash: mailbox.passwordHash });
  return found;
}

/** Where a login comes from: shown to its owner in the list of their sessions. */
export interface LoginClient {
  ip: string | null;
  userAgent?: string | null;
}
const USER_AGENT_MAX = 300;

async function issue(login: Subject, familyId: string, client: LoginClient): Promise<Session> {
  const subject: Subject = { ...login, sessionId: familyId };
  const owner = subject.kind === 'user' ? { userId: subject.userId } : { mailboxId: subject.mailboxId };
  const seen = { clientIp: client.ip, userAgent: client.userAgent?.slice(0, USER_AGENT_MAX) ?? null, lastUsedAt: new Date() };
  await db().loginSession.upsert({ where: { id: familyId }, create: { id: familyId, ...owner, ...seen }, update: seen });
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

export async function login(throttle: LoginThrottle, loginName: string, password: string, client: LoginClient): Promise<Session> {
  // One account whichever form of an internationalised domain was typed (info@bücher.test or
  // info@xn--bcher-kva.test): the stored form is looked up and throttled.
  const account = normalizeAddress(loginName) ?? loginName.trim().toLowerCase();
  const attempt = await throttle.begin(account, client.ip);
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
  const step = await secondStep(found.subject);
  if (step) {
    // The password was right, but the login is not done: the attempt is not counted, and earlier
    // failures are not forgiven (that waits for the code), so password + code guesses cannot alternate.
    await attempt.release();
    throw step;
  }
  await attempt.succeeded();
  return issue(found.subject, randomUUID(), client);
}

// --- the second step ------------------------------------------------------------------------------

// Not AuthenticationErrors: the password was right, and a union member must be told apart by its class.
/** The login needs a second factor: complete it with completeLogin(challenge, code). */
export class SecondFactorRequiredError extends AppError {
  override name = 'SecondFactorRequiredError';
  constructor(
    readonly challenge: string,
    readonly expiresAt: Date,
  ) {
    super('Enter the code from your authenticator app (or a recovery code)');
  }
}

/** The login must set up a second factor first (required for this account): enrol with the challenge. */
export class TwoFactorEnrolmentRequiredError extends AppError {
  override name = 'TwoFactorEnrolmentRequiredError';
  constructor(
    readonly challenge: string,
    readonly expiresAt: Date,
  ) {
    super('Two-factor login is required for this account: set it up to continue');
  }
}

async function secondStep(subject: Subject): Promise<AppError | null> {
  const owner = ownerOf(subject as Extract<Subject, { kind: 'user' } | { kind: 'mailbox' }>);
  const tf = await findTwoFactor(owner);
  if (tf?.enabledAt) {
    const c = await signChallenge(subject, 'code');
    return new SecondFactorRequiredError(c.token, c.expiresAt);
  }
  if (await twoFactorRequired(subject.customerId)) {
    const c = await signChallenge(subject, 'enrol');
    return new TwoFactorEnrolmentRequiredError(c.token, c.expiresAt);
  }
  return null;
}

/** The person a challenge names, as a login subject, with the account name the throttle counts. */
async function challengeHolder(owner: Owner): Promise<{ subject: Subject; account: string } | null> {
  if ('userId' in owner) {
    const u = await db().user.findUnique({ where: { id: owner.userId } });
    const h = u && userSubject(u);
    return h?.active ? { subject: h.subject, account: u!.email } : null;
  }
  const m = await db().mailbox.findUnique({ where: { id: owner.mailboxId }, include: { domain: true } });
  const h = m && mailboxSubject(m);
  return h?.active ? { subject: h.subject, account: m!.address } : null;
}

const STEP_EXPIRED = 'This login step has expired; log in again';

/**
 * Runs `check` for the holder of a challenge as one counted login attempt: a wrong code counts toward
 * the same throttle as a wrong password (per account and address), a right one ends with a session.
 */
export async function withChallenge<T>(
  throttle: LoginThrottle,
  challenge: string,
  purpose: ChallengePurpose,
  client: LoginClient,
  check: (owner: Owner) => Promise<T | null>,
): Promise<{ result: T; session: Session; subject: Subject }> {
  const owner = await verifyChallenge(challenge, purpose);
  const holder = owner && (await challengeHolder(owner));
  if (!owner || !holder) throw new AuthenticationError(STEP_EXPIRED);
  const attempt = await throttle.begin(holder.account, client.ip);
  let result: T | null;
  try {
    if (attempt.delayMs > 0) await new Promise((r) => setTimeout(r, attempt.delayMs));
    result = await check(owner);
  } catch (err) {
    await attempt.release();
    throw err;
  }
  if (result === null) throw new FailedLoginError('Wrong code', await attempt.failed());
  await attempt.succeeded();
  return { result, session: await issue(holder.subject, randomUUID(), client), subject: holder.subject };
}

/** The second step of a login with a TOTP or recovery code. */
export function completeLogin(throttle: LoginThrottle, challenge: string, code: string, client: LoginClient) {
  return withChallenge<FactorUsed>(throttle, challenge, 'code', client, (owner) => consumeCode(owner, code));
}

export async function refresh(token: string, client: LoginClient): Promise<Session> {
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
  const holder = row.user ? userSubject(row.user) : row.mailbox ? mailboxSubject(row.mailbox) : null;
  if (!holder?.active) {
    await revokeFamily(row.familyId);
    throw new AuthenticationError('This account is disabled');
  }
  return issue(holder.subject, row.familyId, client);
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
