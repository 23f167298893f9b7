// DKIM key pairs (node:crypto) and the two forms a private key takes: PKCS#8 PEM at rest (encrypted in
// the database), and the key file rspamd 3.4 loads — PEM for RSA, and for Ed25519 the base64 of the
// 64-byte libsodium secret key (seed ‖ public key), since rspamd does not read Ed25519 PEM files.
// The public key is the DNS `p=` value: base64 of the DER SubjectPublicKeyInfo (RSA) or of the raw
// 32-byte key (Ed25519, RFC 8463).
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import type { DkimAlgorithm } from '@mailpanel/core/generated/prisma/enums';

const generate = promisify(generateKeyPair);

export interface DkimKeyPair {
  /** PKCS#8 PEM. A secret: encrypt before storing, never log. */
  privateKeyPem: string;
  /** The DNS p= value. */
  publicKey: string;
}

export async function generateDkimKeyPair(algorithm: DkimAlgorithm): Promise<DkimKeyPair> {
  if (algorithm === 'ED25519') {
    const { privateKey } = await generate('ed25519', { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    return { privateKeyPem: privateKey, publicKey: publicKeyOf('ED25519', privateKey) };
  }
  const { privateKey } = await generate('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKey: publicKeyOf('RSA_2048', privateKey) };
}

/** The DNS p= value of a private key. */
export function publicKeyOf(algorithm: DkimAlgorithm, privateKeyPem: string): string {
  const pub = createPublicKey(createPrivateKey(privateKeyPem));
  if (algorithm === 'ED25519') return Buffer.from(pub.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
  return pub.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The content of the key file rspamd signs with. */
export function rspamdKeyFile(algorithm: DkimAlgorithm, privateKeyPem: string): string {
  if (algorithm !== 'ED25519') return privateKeyPem.endsWith('\n') ? privateKeyPem : `${privateKeyPem}\n`;
  const jwk = createPrivateKey(privateKeyPem).export({ format: 'jwk' });
  return `${Buffer.concat([Buffer.from(jwk.d!, 'base64url'), Buffer.from(jwk.x!, 'base64url')]).toString('base64')}\n`;
}
