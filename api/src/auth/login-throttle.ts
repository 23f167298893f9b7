// Login throttling that cannot lock anyone out. Each login costs one argon2 verification (~0.1 s of
// CPU), and guessing must stay slow, but an attacker who knows an address must not be able to keep its
// owner out. Three counters per window (LOGIN_WINDOW_SECONDS), in PostgreSQL so that every API
// instance shares them:
// - (account, client address): LOGIN_MAX_FAILURES_PER_ACCOUNT failures, then that address is refused
//   for that account until the window ends;
// - client address: LOGIN_MAX_FAILURES_PER_IP failures across accounts, then that address is refused;
// - account, across addresses: never refused; past LOGIN_MAX_FAILURES_PER_ACCOUNT every attempt on it
//   waits a growing delay (accountDelayMs) before its password is checked, the owner's included, so a
//   botnet gets a few guesses a second at most while the owner still gets in from their own address.
// Invariants: an attempt is counted (atomically, row-locked, in one transaction for both of its keys)
// BEFORE any hashing, so with a limit of 5 exactly 5 passwords are checked however many arrive at
// once; an attempt refused for capacity (withHashSlot) or that turns out right gives its count back.
// The per-process cap on concurrent verifications stays in memory: it protects this process's CPU.
import { createHash } from 'node:crypto';
import { db, type Tx } from '@mailpanel/core/db';
import { config } from '@mailpanel/core/env';
import { TooManyAttemptsError } from '@mailpanel/core/errors';

export interface ThrottleOptions {
  perAccount: number;
  perIp: number;
  windowSeconds: number;
  maxConcurrent: number;
}

/** The longest an account-wide delay gets: long enough to make a distributed guess slow, short enough for a person. */
export const MAX_ACCOUNT_DELAY_MS = 5000;

/** How long an attempt on an account waits, given the account's failures in the window (from every address). */
export function accountDelayMs(failures: number, threshold: number): number {
  if (failures < threshold) return 0;
  return Math.min(MAX_ACCOUNT_DELAY_MS, 250 * 2 ** Math.min(failures - threshold, 10));
}

const keyOf = (kind: 'pair' | 'ip' | 'account', ...parts: string[]) => createHash('sha256').update(`${kind}:${parts.join('|')}`).digest('hex');

/** Why an address was refused, for the audit log. */
export type ThrottleScope = 'account+address' | 'address';

export class ThrottledError extends TooManyAttemptsError {
  constructor(
    retryAfterSeconds: number,
    readonly scope: ThrottleScope,
  ) {
    super(retryAfterSeconds);
  }
}

/** One counted login attempt: say how it ended exactly once. */
export interface Attempt {
  /** How long to wait before checking the password (account-wide slow-down). */
  delayMs: number;
  /** The attempt was not checked (no hash slot): its count is given back. */
  release(): Promise<void>;
  /** Wrong password: stays counted. Says whether this failure closed the address or started slowing the account. */
  failed(): Promise<{ lockedScope: ThrottleScope | null; accountSlowed: boolean }>;
  /** Right password: this address starts afresh for this account and the account's slow-down ends. */
  succeeded(): Promise<void>;
}

export class LoginThrottle {
  private inFlight = 0;
  private lastSweep = 0;

  constructor(
    private readonly opts: ThrottleOptions = {
      perAccount: config().LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perIp: config().LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: config().LOGIN_WINDOW_SECONDS,
      maxConcurrent: config().LOGIN_MAX_CONCURRENT_HASHES,
    },
  ) {}

  /** Counts one failure on key unless it already has max in the current window; returns the new count or null. */
  private async take(tx: Tx, key: string, max: number): Promise<number | null> {
    const w = this.opts.windowSeconds;
    const rows = await tx.$queryRaw<{ failures: number }[]>`
      INSERT INTO login_throttle (key, failures, window_started_at) VALUES (${key}, 1, now())
      ON CONFLICT (key) DO UPDATE SET
        failures = CASE WHEN login_throttle.window_started_at <= now() - make_interval(secs => ${w}::float8) THEN 1 ELSE login_throttle.failures + 1 END,
        window_started_at = CASE WHEN login_throttle.window_started_at <= now() - make_interval(secs => ${w}::float8) THEN now() ELSE login_throttle.window_started_at END
      WHERE login_throttle.window_started_at <= now() - make_interval(secs => ${w}::float8) OR login_throttle.failures < ${max}::int
      RETURNING failures`;
    return rows[0]?.failures ?? null;
  }

  private async retryAfter(key: string): Promise<number> {
    const w = this.opts.windowSeconds;
    const rows = await db().$queryRaw<{ s: number }[]>`
      SELECT greatest(1, ceil(extract(epoch FROM window_started_at + make_interval(secs => ${w}::float8) - now())))::int AS s
      FROM login_throttle WHERE key = ${key}`;
    return rows[0]?.s ?? 1;
  }

  private async giveBack(keys: string[]): Promise<void> {
    await db().$executeRaw`UPDATE login_throttle SET failures = failures - 1 WHERE key = ANY(${keys}::text[]) AND failures > 0`;
  }

  private async sweep(): Promise<void> {
    if (Date.now() - this.lastSweep < this.opts.windowSeconds * 1000) return;
    this.lastSweep = Date.now();
    await db().$executeRaw`DELETE FROM login_throttle WHERE window_started_at <= now() - make_interval(secs => ${this.opts.windowSeconds}::float8)`;
  }

  /** Counts the attempt before any hashing; throws ThrottledError when this address must wait. */
  async begin(account: string, ip: string | null): Promise<Attempt> {
    await this.sweep();
    const pair = keyOf('pair', account, ip ?? '');
    const ipKey = ip ? keyOf('ip', ip) : null;
    const accountKey = keyOf('account', account);
    const { perAccount, perIp } = this.opts;
    const taken = await db().$transaction(async (tx) => {
      const p = await this.take(tx, pair, perAccount);
      if (p === null) return { refused: pair, scope: 'account+address' as const };
      const i = ipKey ? await this.take(tx, ipKey, perIp) : 0;
      // Throwing rolls back the pair's count: a refused attempt uses nothing up.
      if (i === null) throw new RefusedInTx();
      return { pairFailures: p, ipFailures: i };
    }).catch((err) => {
      if (err instanceof RefusedInTx) return { refused: ipKey!, scope: 'address' as const };
      throw err;
    });
    if ('refused' in taken) throw new ThrottledError(await this.retryAfter(taken.refused!), taken.scope!);

    const w = this.opts.windowSeconds;
    const acc = await db().$queryRaw<{ failures: number }[]>`
      SELECT failures FROM login_throttle WHERE key = ${accountKey} AND window_started_at > now() - make_interval(secs => ${w}::float8)`;
    const counted = ipKey ? [pair, ipKey] : [pair];
    let settled = false;
    const settle = () => {
      if (settled) throw new Error('login attempt settled twice');
      settled = true;
    };
    return {
      delayMs: accountDelayMs(acc[0]?.failures ?? 0, perAccount),
      release: async () => {
        settle();
        await this.giveBack(counted);
      },
      failed: async () => {
        settle();
        const accountFailures = await db().$transaction((tx) => this.take(tx, accountKey, 2 ** 31 - 1));
        const lockedScope = taken.pairFailures >= perAccount ? 'account+address' : ipKey && taken.ipFailures >= perIp ? 'address' : null;
        return { lockedScope, accountSlowed: accountFailures === perAccount };
      },
      succeeded: async () => {
        settle();
        await db().$executeRaw`DELETE FROM login_throttle WHERE key = ANY(${[pair, accountKey]}::text[])`;
        if (ipKey) await this.giveBack([ipKey]);
      },
    };
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

class RefusedInTx extends Error {}
