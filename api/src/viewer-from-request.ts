import type { IncomingMessage } from 'node:http';
import { config } from '@mailpanel/core/env';
import type { Viewer } from './context.js';
import { anonymous } from './context.js';
import { ExpiredTokenError, verifyAccessToken } from './auth/access-token.js';
import { isApiToken, viewerFromApiToken } from './auth/api-token.js';
import { REVOKED_MESSAGE, revocations } from './auth/revocation.js';

export interface ResolvedViewer {
  viewer: Viewer;
  /** Why the presented credential was refused (expired, revoked…), for a clear error. */
  authError?: string;
  expiresAt?: number;
}

/** Accepts "Bearer <token>" or a bare token: a panel access token (JWT) or an integrator API token. */
export async function resolveViewer(authorization: string | null | undefined): Promise<ResolvedViewer> {
  const token = authorization?.replace(/^Bearer\s+/i, '').trim();
  if (!token) return { viewer: anonymous };
  if (isApiToken(token)) {
    const viewer = await viewerFromApiToken(token);
    return viewer ? { viewer } : { viewer: anonymous, authError: 'API token is invalid, expired or revoked' };
  }
  let verified: { viewer: Viewer; expiresAt: number };
  try {
    verified = await verifyAccessToken(token);
  } catch (err) {
    return { viewer: anonymous, authError: err instanceof ExpiredTokenError ? 'Access token expired' : 'Access token is invalid' };
  }
  // A well-signed token of a user disabled or deleted since, or of a login that ended, acts no more.
  if (verified.viewer.kind !== 'anonymous' && !(await revocations.stillValid(verified.viewer))) return { viewer: anonymous, authError: REVOKED_MESSAGE };
  return verified;
}

/**
 * The client's address: the socket's peer, or behind TRUST_PROXY the address our proxy saw. A proxy
 * APPENDS the peer it saw to X-Forwarded-For, after whatever the client sent, so only the LAST entry
 * is trustworthy; the first ones are whatever an attacker wrote (taking the first let one address
 * look like thousands to the login throttle).
 */
export function clientIp(req: IncomingMessage | undefined): string | null {
  if (!req) return null;
  if (config().TRUST_PROXY) {
    const fwd = req.headers['x-forwarded-for'];
    const last = (Array.isArray(fwd) ? fwd.join(',') : fwd)?.split(',').at(-1)?.trim();
    if (last) return last;
  }
  return req.socket.remoteAddress ?? null;
}
