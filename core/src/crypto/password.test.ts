import { describe, expect, it } from 'vitest';
import argon2 from 'argon2';
import { hashPassword, toDovecotOrder, verifyPassword } from './password.js';

// A fixed vector: the password "Secret123!" hashed with argon2id m=65536, t=3, p=4, written in the
// parameter order node-argon2 (via @phc/format) produces, and the order libsodium (Dovecot) accepts.
const PHC_ORDER = '$argon2id$v=19$m=65536,p=4,t=3$c2FsdHNhbHRzYWx0c2FsdA$wutl9b038l1BP5DXOyPQV0WLyl2mkLnhbesJg8POsOY';
const DOVECOT_ORDER = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$wutl9b038l1BP5DXOyPQV0WLyl2mkLnhbesJg8POsOY';

describe('mailbox password hashes', () => {
  it('are rewritten into the m=,t=,p= order Dovecot/libsodium accepts', () => {
    expect(toDovecotOrder(PHC_ORDER)).toBe(DOVECOT_ORDER);
    expect(toDovecotOrder(DOVECOT_ORDER)).toBe(DOVECOT_ORDER);
  });

  it('the fixed vector verifies in Dovecot order', async () => {
    expect(await argon2.verify(DOVECOT_ORDER, 'Secret123!')).toBe(true);
    expect(await argon2.verify(DOVECOT_ORDER, 'secret123!')).toBe(false);
  });

  it('new hashes are argon2id in Dovecot order and verify', async () => {
    const hash = await hashPassword('correct horse');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect(await verifyPassword(hash, 'correct horse')).toBe(true);
    expect(await verifyPassword(hash, 'wrong horse')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });
});
