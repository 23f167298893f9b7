// Password hashing: argon2id for panel users and mailboxes alike. Mailbox hashes are read by Dovecot,
// which verifies through libsodium; libsodium accepts the parameters only in the order m=,t=,p=
// (node-argon2 versions that use @phc/format write m=,p=,t=, which Dovecot reports as a plain
// "Password mismatch"). So every stored hash is normalised to Dovecot's order.
import argon2 from 'argon2';

const PHC_REORDER = /^\$argon2id\$v=19\$m=(\d+),p=(\d+),t=(\d+)\$/;

export function toDovecotOrder(hash: string): string {
  return hash.replace(PHC_REORDER, '$argon2id$v=19$m=$1,t=$3,p=$2$');
}

export async function hashPassword(password: string): Promise<string> {
  const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 65536, timeCost: 3, parallelism: 1 });
  return toDovecotOrder(hash);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** A hash of a password nobody knows, verified against when an account does not exist so that
 *  "no such user" and "wrong password" cost the same time. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(`decoy-${Math.random()}`);
  return decoy;
}
