// A per-process sliding window of failures per key (an account, an address), checked before costly
// work. Used where a shared, exact count is not needed (the IMAP-source credential tester); panel
// logins use LoginThrottle (login-throttle.ts), counted in PostgreSQL.
import { TooManyAttemptsError } from '@mailpanel/core/errors';

export class FailureWindow {
  private failures = new Map<string, number[]>();

  constructor(private readonly opts: { perAccount: number; perIp: number; windowMs: number }) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.opts.windowMs);
    if (list.length) this.failures.set(key, list);
    else this.failures.delete(key);
    return list;
  }

  /** Throws TooManyAttemptsError when this account or address must wait. */
  check(account: string, ip: string | null, now = Date.now()): void {
    const checks: [string, number][] = [[`a:${account}`, this.opts.perAccount]];
    if (ip) checks.push([`i:${ip}`, this.opts.perIp]);
    for (const [key, max] of checks) {
      const list = this.recent(key, now);
      if (list.length >= max) throw new TooManyAttemptsError(Math.ceil((list[0]! + this.opts.windowMs - now) / 1000));
    }
  }

  fail(account: string, ip: string | null, now = Date.now()): void {
    for (const key of [`a:${account}`, ip ? `i:${ip}` : null]) {
      if (!key) continue;
      this.failures.set(key, [...this.recent(key, now), now]);
    }
  }
}
