// rspamd-sync: re-renders rspamd's maps and key files from the rows (worker/src/email-security/
// rspamd-sync.ts). Enqueued by every change to a spam policy, list or DKIM key, in its transaction.
import type { JobPayload } from '@mailpanel/core/jobs';
import { syncRspamd } from '../email-security/rspamd-sync.js';

export async function rspamdSync(_payload: JobPayload<'rspamd-sync'>): Promise<void> {
  await syncRspamd();
}
