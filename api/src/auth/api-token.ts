// Integrators' API tokens: `mpat_…`, shown once at creation, stored as sha256. A token acts as its
// owner with the owner's permissions, or narrower (READ_ONLY refuses every mutation).
import { db, type Prisma } from '@mailpanel/core/db';
import { sha256 } from '@mailpanel/core/crypto/tokens';
import type { Viewer } from '../context.js';

export const API_TOKEN_PREFIX = 'mpat';
const LAST_USED_RESOLUTION_MS = 60_000;

export function isApiToken(token: string): boolean {
  return token.startsWith(`${API_TOKEN_PREFIX}_`);
}

/** A token that may act now: not revoked, not expired, its user not disabled. */
export function usableApiToken(now = new Date()) {
  return { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }], user: { disabled: false } } satisfies Prisma.ApiTokenWhereInput;
}

export async function viewerFromApiToken(token: string): Promise<Viewer | null> {
  const now = new Date();
  const row = await db().apiToken.findUnique({ where: { tokenHash: sha256(token), ...usableApiToken(now) }, include: { user: true } });
  if (!row) return null;
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db().apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  }
  return {
    kind: 'user',
    userId: row.user.id,
    role: row.user.role,
    customerId: row.user.customerId,
    label: `${row.user.email} (token ${row.name})`,
    access: row.scope,
    tokenId: row.id,
  };
}
