// Outbound rate limits: the arithmetic shared by the Postfix policy service (worker/src/policy), which
// enforces them, and the API, which shows live usage. No I/O. A message sent by an authenticated mailbox costs
// one e-mail per recipient and is counted against three limits in the same fixed UTC hour window:
// the mailbox's, its domain's and its customer's (the package total). It is accepted only when it
// fits under all three; then all three counters grow by its cost, otherwise none does.
//
// - Limits: the package's value, unless an admin set an override on the mailbox/domain (a number,
//   0 = unlimited). 0 or null = unlimited; unlimited counters still count (the panel shows usage).
// - Windows are fixed hours [hh:00, hh+1:00) UTC: simple, shared by every mail node through the
//   database, and what the panel can show as "resets at". (A burst across an hour boundary can reach
//   twice the limit; a sliding window would not, at the price of more rows and reads.)
// - A batch of requests is decided in arrival order against the counts read under lock, so what a
//   batch accepts is exactly what one-at-a-time processing would accept.

export type LimitKind = 'MAILBOX' | 'DOMAIN' | 'CUSTOMER';
export const LIMIT_KINDS: readonly LimitKind[] = ['MAILBOX', 'DOMAIN', 'CUSTOMER'];

const HOUR = 3600 * 1000;

export function hourWindow(now: Date): Date {
  return new Date(Math.floor(now.getTime() / HOUR) * HOUR);
}

export function windowEnd(windowStart: Date): Date {
  return new Date(windowStart.getTime() + HOUR);
}

/** The limit in force: the override when set, else the package's; 0 means unlimited → null. */
export function effectiveLimit(packageLimit: number, override: number | null | undefined): number | null {
  const v = override ?? packageLimit;
  return v > 0 ? v : null;
}

/** Who sends, and the limits that apply (null = unlimited). */
export interface Sender {
  address: string;
  mailboxId: string;
  domainId: string;
  customerId: string;
  limits: Record<LimitKind, number | null>;
}

export function counterKey(kind: LimitKind, id: string): string {
  return `${kind}:${id}`;
}

export function senderCounters(s: Sender): { kind: LimitKind; id: string; key: string; limit: number | null }[] {
  const ids: Record<LimitKind, string> = { MAILBOX: s.mailboxId, DOMAIN: s.domainId, CUSTOMER: s.customerId };
  return LIMIT_KINDS.map((kind) => ({ kind, id: ids[kind], key: counterKey(kind, ids[kind]), limit: s.limits[kind] }));
}

export interface Exceeded {
  kind: LimitKind;
  limit: number;
  used: number;
}

export type Decision = { allowed: true } | { allowed: false; exceeded: Exceeded };

export interface BatchItem {
  sender: Sender;
  /** E-mails this message counts for (its recipients; at least 1). */
  cost: number;
}

/**
 * Decides a batch in order. `counts` holds the current count of every counter the batch touches
 * (missing = 0). Returns one decision per item and the increment per counter key.
 */
export function decideBatch(items: readonly BatchItem[], counts: ReadonlyMap<string, number>): { decisions: Decision[]; increments: Map<string, number> } {
  const now = new Map(counts);
  const increments = new Map<string, number>();
  const decisions = items.map((item): Decision => {
    const cost = Math.max(1, Math.floor(item.cost));
    const counters = senderCounters(item.sender);
    for (const c of counters) {
      const used = now.get(c.key) ?? 0;
      if (c.limit !== null && used + cost > c.limit) return { allowed: false, exceeded: { kind: c.kind, limit: c.limit, used } };
    }
    for (const c of counters) {
      now.set(c.key, (now.get(c.key) ?? 0) + cost);
      increments.set(c.key, (increments.get(c.key) ?? 0) + cost);
    }
    return { allowed: true };
  });
  return { decisions, increments };
}

/** The text after the status code in the 4xx reply: who is limited, to what, and until when. */
export function deferMessage(e: Exceeded, sender: Sender, windowStart: Date): string {
  const until = windowEnd(windowStart).toISOString().slice(11, 16);
  const who = e.kind === 'MAILBOX' ? sender.address : e.kind === 'DOMAIN' ? `the domain ${sender.address.split('@')[1]}` : 'your account';
  return `Sending limit reached: ${e.limit} e-mails per hour for ${who}; try again after ${until} UTC`;
}
