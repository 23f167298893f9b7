// Maximum message size: the server's limit (Postfix message_size_limit, MESSAGE_SIZE_LIMIT_BYTES)
// and a hosting package's own, lower one. Pure: used by the API (what the panel shows, validation)
// and by the policy service (what Postfix refuses at RCPT).
import type { FieldErrors } from './errors.js';

const MB = 1024 * 1024;

/** The limit that applies to a package's mailboxes, in bytes: the package's when set, never above the server's. */
export function effectiveMessageSizeBytes(packageMb: number | null | undefined, serverBytes: number): number {
  return packageMb == null ? serverBytes : Math.min(packageMb * MB, serverBytes);
}

/** Validates a package's maxMessageSizeMb input: 0 (the server's limit, stored as null) or 1 .. the server's limit in MB. */
export function checkMessageSizeMb(errors: FieldErrors, field: string, v: number, serverBytes: number): number | null {
  const maxMb = Math.floor(serverBytes / MB);
  if (!Number.isInteger(v) || v < 0 || v > maxMb) {
    errors.add(field, 'INVALID', `Must be a whole number of MB from 1 to the server's limit of ${maxMb} MB, or 0 for the server's limit`);
    return null;
  }
  return v === 0 ? null : v;
}

/** The policy service's answer at RCPT: a refusal when the announced size is above the recipient's limit. */
export function messageSizeRefusal(announcedBytes: number, limitBytes: number): string | null {
  if (!(announcedBytes > limitBytes)) return null;
  return `552 5.3.4 Message too big for this recipient (limit ${formatMb(limitBytes)})`;
}

export function formatMb(bytes: number): string {
  const mb = bytes / MB;
  return `${Number.isInteger(mb) ? mb : mb.toFixed(1)} MB`;
}
