// Two-factor logins: TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps — what every authenticator
// app reads from the QR code) and ten one-time recovery codes, for panel users and mailbox owners.
//
// Invariants:
// - The secret is kept encrypted (ENCRYPTION_KEY) and leaves the API once, in the enrolment answer.
// - A code is accepted for its step or one step either side (clock drift), and never twice: the
//   accepted step is written with a conditional UPDATE (last_used_step < step), so two requests with
//   the same code cannot both win. A recovery code is used up the same way (used_at IS NULL).
// - Between the password and the code the client holds a challenge: a short JWT with its own issuer,
//   so it can never pass for an access token (access-token.ts checks the issuer), and a purpose, so an
//   enrolment challenge cannot complete a login that needs a code.
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { decryptSecret, encryptSecret } from '@mailpanel/core/crypto/secretbox';
import { sha256 } from '@mailpanel/core/crypto/tokens';
import type { Viewer } from '../context.js';

type Subject = Exclude<Viewer, { kind: 'anonymous' }>;
/** Who a second factor belongs to: a panel user or a mailbox (its owner's panel login). */
export type Owner = { userId: string } | { mailboxId: string };

export const ISSUER = 'Mail panel';
const PERIOD = 30;
const CHALLENGE_ISSUER = 'mailpanel-login-challenge';
const CHALLENGE_TTL_SECONDS = 300;
export const RECOVERY_CODE_COUNT = 10;

export function ownerOf(s: { kind: 'user'; userId: string } | { kind: 'mailbox'; mailboxId: string }): Owner {
  return s.kind === 'user' ? { userId: s.userId } : { mailboxId: s.mailboxId };
}

function totp(secretBase32: string, label = ''): TOTP {
  return new TOTP({ issuer: ISSUER, label, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: Secret.fromBase32(secretBase32) });
}

/** A new random secret (160 bits, base32), as authenticator apps take it. */
export function newSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** otpauth://totp/Mail%20panel:<label>?secret=…&issuer=… — what the QR code carries. */
export function otpauthUri(secretBase32: string, label: string): string {
  return totp(secretBase32, label).toString();
}

/** The step a 6-digit code is right for (±1 step for clock drift), or null. */
export function matchingStep(secretBase32: string, code: string, now = Date.now()): number | null {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return null;
  const delta = totp(secretBase32).validate({ token, timestamp: now, window: 1 });
  return delta === null ? null : Math.floor(now / 1000 / PERIOD) + delta;
}

/** The code an authenticator shows now (tests and the docs' examples). */
export function currentCode(secretBase32: string, now = Date.now()): string {
  return totp(secretBase32).generate({ timestamp: now });
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
/** "k7m2p-9xq4t": ten characters of an alphabet without look-alikes (~49 bits each). */
function recoveryCode(): string {
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => RECOVERY_ALPHABET[b % RECOVERY_ALPHABET.length]).join('');
  return `${chars.slice(0, 5)}-${chars.slice(5)}`;
}
export function normalizeRecoveryCode(input: string): string {
  return input.toLowerCase().replace(/[^a-z0-9]/g, '');
}
function recoveryHash(code: string): string {
  return sha256(`recovery:${normalizeRecoveryCode(code)}`);
}

// --- stored state ---------------------------------------------------------------------------------

export function encryptTotpSecret(secret: string): string {
  return encryptSecret(secret, config().encryptionKey);
}

export async function findTwoFactor(owner: Owner) {
  return db().twoFactor.findUnique({ where: owner });
}

/** Whether this person must log in with a second factor: everyone (panel setting) or their customer's people. */
export async function twoFactorRequired(customerId: string | null): Promise<boolean> {
  const [settings, customer] = await Promise.all([
    db().panelSettings.findUnique({ where: { id: true } }),
    customerId ? db().customer.findUnique({ where: { id: customerId }, select: { requireTwoFactor: true } }) : null,
  ]);
  return !!settings?.requireTwoFactor || !!customer?.requireTwoFactor;
}

/** Replaces the recovery codes of an enabled factor; returns the new codes (shown once). */
export async function replaceRecoveryCodes(twoFactorId: string, tx: Tx = db()): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, recoveryCode);
  await tx.twoFactorRecoveryCode.deleteMany({ where: { twoFactorId } });
  await tx.twoFactorRecoveryCode.createMany({ data: codes.map((c) => ({ twoFactorId, codeHash: recoveryHash(c) })) });
  return codes;
}

export type FactorUsed = 'totp' | 'recovery';

/**
 * Checks a TOTP code or a recovery code against an enabled (or, with `pending`, a not yet confirmed)
 * second factor and uses it up. Returns what matched, or null.
 */
export async function consumeCode(owner: Owner, code: string, opts: { pending?: boolean } = {}): Promise<FactorUsed | null> {
  const tf = await findTwoFactor(owner);
  if (!tf || (opts.pending ? tf.enabledAt !== null : tf.enabledAt === null)) return null;
  const step = matchingStep(decryptSecret(tf.secretEncrypted, config().encryptionKey), code);
  if (step !== null) {
    const won = await db().twoFactor.updateMany({ where: { id: tf.id, lastUsedStep: { lt: BigInt(step) } }, data: { lastUsedStep: BigInt(step) } });
    return won.count === 1 ? 'totp' : null;
  }
  if (opts.pending) return null;
  const used = await db().twoFactorRecoveryCode.updateMany({
    where: { twoFactorId: tf.id, codeHash: recoveryHash(code), usedAt: null },
    data: { usedAt: new Date() },
  });
  return used.count === 1 ? 'recovery' : null;
}

// --- login challenges -----------------------------------------------------------------------------

export type ChallengePurpose = 'code' | 'enrol';

export async function signChallenge(subject: Subject, purpose: ChallengePurpose): Promise<{ token: string; expiresAt: Date }> {
  const expiresAt = new Date(Date.now() + CHALLENGE_TTL_SECONDS * 1000);
  const token = await new SignJWT({ purpose, kind: subject.kind })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject.kind === 'user' ? subject.userId : subject.mailboxId)
    .setIssuer(CHALLENGE_ISSUER)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(config().jwtSecret);
  return { token, expiresAt };
}

/** The person a challenge was given to, or null when it is not one of ours, expired, or for another purpose. */
export async function verifyChallenge(token: string, purpose: ChallengePurpose): Promise<Owner | null> {
  try {
    const { payload } = await jwtVerify<{ purpose: string; kind: string }>(token, config().jwtSecret, {
      issuer: CHALLENGE_ISSUER,
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub'],
    });
    if (payload.purpose !== purpose) return null;
    return payload.kind === 'user' ? { userId: payload.sub! } : { mailboxId: payload.sub! };
  } catch {
    return null;
  }
}
