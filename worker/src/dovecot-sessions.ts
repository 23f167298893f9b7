// Ends every open session of one mailbox in the Dovecot the panel drives (IMAP, and POP3 and
// ManageSieve where a deployment serves them: `doveadm kick` ends every protocol's session of the
// user, as anvil counts them). Called after a password change, a disable and before a delete, once
// the change is committed — so a client that reconnects is checked against the new rows and
// refused; a thief with an open session stops reading within seconds.
//
// Idempotent: no session left is success ("no users kicked"). Dovecot unreachable (its anvil or
// auth socket) is an error: the job is retried like other provisioning work.
import { doveadmError, runDoveadm, type Doveadm } from './quota.js';

/** doveadm kick's exit code when nobody matched (EX_CANTCREAT, with "no users kicked"). */
const EX_NOBODY_KICKED = 68;

export async function endMailboxSessions(d: Doveadm, address: string): Promise<void> {
  // `kick` reads its argument as a mask: an address with a wildcard would end other users' sessions.
  // Mailbox addresses never hold one (core/src/validation.ts); refuse rather than trust that here.
  if (/[*?\s]/.test(address) || address.length === 0) throw new Error(`not a mailbox address: ${JSON.stringify(address)}`);
  // No auth cache is configured (auth_cache_size = 0); flushing anyway keeps this true for an
  // operator who turns one on: the next login is checked against the new password / status.
  const flush = ['auth', 'cache', 'flush', address];
  const f = await runDoveadm(d, flush);
  if (f.code !== 0) throw doveadmError(flush, f);
  const kick = ['kick', address];
  const k = await runDoveadm(d, kick);
  if (k.code === 0) return;
  if (k.code === EX_NOBODY_KICKED && /no users kicked/i.test(k.stdout + k.stderr)) return;
  throw doveadmError(kick, k);
}
