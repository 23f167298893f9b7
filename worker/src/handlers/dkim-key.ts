// dkim-key: gives a DKIM key row its key pair (once), then brings rspamd's files in line (the key file,
// and the selector map when the key is ACTIVE). State PENDING → READY; a failed try records its reason
// and stays PENDING while pg-boss retries, FAILED only when the last try fails.
//
// Idempotent: the pair is stored with a compare-and-set (only while the row has none), so a retry
// after a crash, or two workers racing, keep the first pair; the public key in DNS never changes under
// the owner's feet. The private key is encrypted before it is stored and never logged.
import { db } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { encryptSecret } from '@mailpanel/core/crypto/secretbox';
import { publish } from '@mailpanel/core/pubsub';
import { failedTryState, type JobPayload } from '@mailpanel/core/jobs';
import { generateDkimKeyPair } from '../email-security/dkim-keys.js';
import { syncRspamd } from '../email-security/rspamd-sync.js';

export async function dkimKey({ keyId }: JobPayload<'dkim-key'>, attempt?: { retryCount: number }): Promise<void> {
  const cfg = config();
  const key = await db().dkimKey.findUnique({ where: { id: keyId }, select: { id: true, domainId: true, algorithm: true, privateKeyEnc: true, status: true } });
  if (!key) return;
  try {
    if (!key.privateKeyEnc && key.status !== 'RETIRED') {
      const pair = await generateDkimKeyPair(key.algorithm);
      await db().dkimKey.updateMany({
        where: { id: key.id, privateKeyEnc: null },
        data: { privateKeyEnc: encryptSecret(pair.privateKeyPem, cfg.encryptionKey), publicKey: pair.publicKey },
      });
    }
    await db().dkimKey.updateMany({ where: { id: key.id, privateKeyEnc: { not: null } }, data: { provisioning: 'READY', provisioningError: null } });
    await syncRspamd(cfg);
  } catch (err) {
    await db().dkimKey.updateMany({ where: { id: key.id }, data: failedTryState('dkim-key', attempt, err) });
    await publish(db(), `domain:${key.domainId}`, { id: key.domainId });
    throw err;
  }
  await publish(db(), `domain:${key.domainId}`, { id: key.domainId });
}
