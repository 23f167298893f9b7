// Login throttling. Each login costs one argon2 verification (~0.1 s of CPU), so a flood of bad
// logins could take the API down. Two guards run BEFORE any hashing: failure counts per account and
// per client address in a sliding window, and a cap on concurrent verifications (excess attempts are
// refused at once rather than queued). Counters are per API process; behind a load balancer each
// instance enforces its own share.
import { config } from '@mailpanel/core/env';
import { TooManyAttemptsError } from '@mailpanel/core/errors';

export class LoginThrottle {
  private failures = new Map<string, number[]>();
  private inFlight = 0;

  constructor(
    private readonly opts = {
      perAccount: config().LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perIp: config().LOGIN_MAX_FAILURES_PER_IP,
      windowMs: config().LOGIN_WINDOW_SECONDS * 1000,
      maxConcurrent: config().LOGIN_MAX_CONCURRENT_HASHES,
    },
  ) {}

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

  succeed(account: string): void {
    this.failures.delete(`a:${account}`);
  }

  /** Runs the hash verification if a slot is free; otherwise refuses at once. */
  async withHashSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.opts.maxConcurrent) throw new TooManyAttemptsError(1);
    this.inFlight++;
    try {
      return await fn();
    } finally {
      this.inFlight--;
    }
  }
}
