import type { Viewer } from './context.js';
import { anonymous } from './context.js';
import { ExpiredTokenError, verifyAccessToken } from './auth/access-token.js';
import { isApiToken, viewerFromApiToken } from './auth/api-token.js';

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
  try {
    return await verifyAccessToken(token);
  } catch (err) {
    return { viewer: anonymous, authError: err instanceof ExpiredTokenError ? 'Access token expired' : 'Access token is invalid' };
  }
}
