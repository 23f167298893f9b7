import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** An opaque random token with a readable prefix, e.g. `mpat_…` for API tokens. */
export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

/** Tokens are high-entropy, so a fast hash is enough to store them; only the hash is kept. */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
