// Quota warnings: which threshold a mailbox's usage has crossed, and what its owner is told.
// Invariants:
// - One mail per crossing: a threshold is told about once, when the usage first reaches it; the
//   mailbox remembers the highest one told (quota_warned_percent). Jumping past several thresholds
//   at once tells only the highest.
// - Dropping under a threshold lowers what is remembered (no mail), so the next crossing warns anew.
// - An unlimited mailbox (quota 0) is under every threshold.

/** The highest threshold `usedBytes` reaches of `quotaMb` (0 = none, or no limit). */
export function warningLevel(usedBytes: number, quotaMb: number, thresholds: readonly number[]): number {
  if (quotaMb <= 0) return 0;
  const percent = (usedBytes / (quotaMb * 1024 * 1024)) * 100;
  return thresholds.filter((t) => percent >= t).reduce((a, b) => Math.max(a, b), 0);
}

/** What to do after a measurement: tell the owner about `level`, or just remember `level`. */
export function nextWarning(told: number, level: number): { remember: number; tell: boolean } | null {
  if (level === told) return null;
  return { remember: level, tell: level > told };
}

export interface QuotaWarningMail {
  subject: string;
  text: string;
}

/** The warning's text (English; the panel has no per-mailbox language yet). Values are numbers and a
 *  validated address; the MIME encoding of headers is left to the mail composer. */
export function quotaWarningMail(m: { address: string; level: number; usedBytes: number; quotaMb: number }): QuotaWarningMail {
  const usedMb = Math.round((m.usedBytes / (1024 * 1024)) * 10) / 10;
  const percent = Math.min(100, Math.round((m.usedBytes / (m.quotaMb * 1024 * 1024)) * 100));
  return {
    subject: `Your mailbox ${m.address} is ${percent} % full`,
    text: [
      `Your mailbox ${m.address} uses ${usedMb} MB of its ${m.quotaMb} MB (${percent} %).`,
      '',
      m.level >= 95
        ? 'When it is full, new mail to it is refused and returned to the senders. Delete or archive mail you no longer need, or ask your provider for more space.'
        : 'Delete or archive mail you no longer need before it fills up; when it is full, new mail to it is refused.',
      '',
      `You get this message once when the mailbox passes ${m.level} % of its space.`,
    ].join('\n'),
  };
}
