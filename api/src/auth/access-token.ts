// Short-lived access tokens (HS256 JWT, jose). They carry who the viewer is and which login (sid) they
// belong to; whether that user, mailbox and login may still act is checked on every request from a
// briefly cached verdict that NOTIFY invalidates (revocation.ts).
import { SignJWT, jwtVerify, errors } from 'jose';
import { config } from '@mailpanel/core/env';
import type { Viewer } from '../context.js';

type Claims = ({ kind: 'user'; role: 'ADMIN' | 'CUSTOMER'; cid: string | null; label: string } | { kind: 'mailbox'; cid: string; label: string }) & { sid?: string };

export async function signAccessToken(viewer: Exclude<Viewer, { kind: 'anonymous' }>): Promise<{ token: string; expiresAt: Date }> {
  const ttl = config().ACCESS_TOKEN_TTL_SECONDS;
  const expiresAt = new Date(Date.now() + ttl * 1000);
  const claims: Claims =
    viewer.kind === 'user'
      ? { kind: 'user', role: viewer.role, cid: viewer.customerId, label: viewer.label, sid: viewer.sessionId }
      : { kind: 'mailbox', cid: viewer.customerId, label: viewer.label, sid: viewer.sessionId };
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(viewer.kind === 'user' ? viewer.userId : viewer.mailboxId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .setIssuer('mailpanel')
    .sign(config().jwtSecret);
  return { token, expiresAt };
}

export class ExpiredTokenError extends Error {}

// Imported once per secret: handing jose the raw bytes made it import the key again on every request
// (about half of a token check's CPU).
const verifyKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function verifyKey(secret: Uint8Array): Promise<CryptoKey> {
  let key = verifyKeys.get(secret);
  if (!key) verifyKeys.set(secret, (key = crypto.subtle.importKey('raw', secret as Uint8Array<ArrayBuffer>, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])));
  return key;
}

// Tokens already verified, by their whole text (signature included), so a panel polling every few
// seconds costs one HMAC per token instead of one per request. Expiry is still checked on every use,
// as jose does (expired once exp <= now in whole seconds); bounded, oldest out first.
const VERIFIED_MAX = 10_000;
const verified = new Map<string, { viewer: Viewer; exp: number }>();

/** Returns the viewer and when the token expires (ms), or throws ExpiredTokenError / a generic Error for an invalid token. */
export async function verifyAccessToken(token: string): Promise<{ viewer: Viewer; expiresAt: number }> {
  const known = verified.get(token);
  if (known) {
    if (known.exp > Math.floor(Date.now() / 1000)) return { viewer: { ...known.viewer }, expiresAt: known.exp * 1000 };
    verified.delete(token);
    throw new ExpiredTokenError('Access token expired');
  }
  try {
    // A token without exp would never expire (jose only checks exp when present), and one without sub
    // names nobody: neither is a token this API issues, so neither is accepted.
    const { payload } = await jwtVerify<Claims>(token, await verifyKey(config().jwtSecret), {
      issuer: 'mailpanel',
      algorithms: ['HS256'],
      requiredClaims: ['exp', 'sub'],
    });
    const viewer: Viewer =
      payload.kind === 'user'
        ? { kind: 'user', userId: payload.sub!, role: payload.role, customerId: payload.cid, label: payload.label, access: 'SESSION' }
        : { kind: 'mailbox', mailboxId: payload.sub!, customerId: payload.cid, label: payload.label };
    if (payload.sid) viewer.sessionId = payload.sid;
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(token, { viewer, exp: payload.exp! });
    return { viewer: { ...viewer }, expiresAt: payload.exp! * 1000 };
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new ExpiredTokenError('Access token expired');
    throw new Error('Invalid access token');
  }
}
