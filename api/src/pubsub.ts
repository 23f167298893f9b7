import { createPubSub, Repeater } from 'graphql-yoga';
import { NotFoundError } from '@mailpanel/core/errors';
import type { ExecutionResult } from 'graphql';
import type { PgEventTarget } from '@mailpanel/core/pubsub';

/** Topics the API subscribes to. Payloads carry ids only; resolvers reload the row. */
export type Topics = {
  mailbox: [mailboxId: string, payload: { id: string }];
  migration: [migrationId: string, payload: { id: string; status: string }];
  bulkImport: [importId: string, payload: { id: string; status: string }];
};

export function createAppPubSub(eventTarget: PgEventTarget) {
  return createPubSub<Topics>({ eventTarget: eventTarget as never });
}
export type PubSub = ReturnType<typeof createAppPubSub>;

const perEvent = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Subscribers of one event share one load. One NOTIFY is dispatched once, so every subscriber's
 * resolver receives the same payload object: it keys the cache, together with what the subscriber
 * selects and its tenant filter. Subscriptions of different viewers to one row cost one query per event.
 */
export function loadOncePerEvent<T>(payload: object, key: unknown, load: () => Promise<T>): Promise<T> {
  let loads = perEvent.get(payload);
  if (!loads) perEvent.set(payload, (loads = new Map()));
  const k = JSON.stringify(key);
  let p = loads.get(k) as Promise<T> | undefined;
  if (!p) loads.set(k, (p = load()));
  return p;
}

// --- the end of a subscription -----------------------------------------------------------------
//
// A subscription watches one row the viewer may see. When the row is deleted or leaves the viewer's
// sight (another tenant now owns it), the subscription completes cleanly at the next event instead
// of failing to load the row; the last state the viewer was allowed to see was the last one sent.

/**
 * The events while the watched row stays visible: the stream completes at the first event after
 * which visible() is false. A Repeater (not an async generator), so that unsubscribing ends it at
 * once even while it waits for an event.
 */
export function whileVisible<E extends object>(events: AsyncIterable<E> & { return?(): unknown }, visible: (event: E) => Promise<boolean>): AsyncIterable<E> {
  return new Repeater<E>(async (push, stop) => {
    void stop.then(() => events.return?.());
    try {
      for await (const event of events) {
        if (!(await visible(event))) break;
        await push(event);
      }
    } finally {
      stop();
    }
  });
}

/** A subscription resolver's row: gone between the visibility check and the load is a typed not-found, never an internal error. */
export async function visibleRow<T>(row: Promise<T | null>, entity: string): Promise<T> {
  const found = await row;
  if (!found) throw new NotFoundError(entity);
  return found;
}

// --- shared subscriptions ----------------------------------------------------------------------
//
// Subscribers that ask the same thing of the same viewer share one subscription: the subscribe
// resolver (with its tenant check), the event listener and one execution per event run once, and
// each subscriber gets the same result object. 1,000 browser tabs watching one migration cost one
// GraphQL execution per event instead of 1,000, and a small queue each instead of a whole
// subscription (envelop context, source stream, throttle, listener: ~20 KB of heap each).
//
// Invariants:
// - The key is (document text, operation name, variables, the whole viewer, its auth error). A
//   result depends on nothing else that differs between subscribers: subscription resolvers read
//   the viewer for authorization and never the connection (client address, socket); what differs
//   per connection (the access token's expiry → close 4401) stays on the connection. Two tenants,
//   two users, or one user with two API tokens never share.
// - Every subscription of this API delivers state (resolvers reload the row), so a subscriber who
//   joins a running one first gets the latest result it delivered (the state "now", as of the last
//   event), and a subscriber that cannot keep up skips to newer results instead of queueing without
//   bound. The last result (a final state included) is never skipped.
// - A subscription that ended (or failed to start) is forgotten at once: whoever subscribes next
//   starts a fresh one, with a fresh authorization check.
// - The shared subscription stops when its last subscriber leaves.

/** How many results a slow subscriber may have waiting before the oldest are skipped. */
const MAX_BACKLOG = 16;

type Result = ExecutionResult;
type Started = AsyncIterable<Result> | Result;

class Subscriber implements AsyncGenerator<Result> {
  private backlog: Result[] = [];
  private waiting: { resolve(r: IteratorResult<Result>): void; reject(e: unknown): void } | null = null;
  private ended = false;
  private failure: { error: unknown } | null = null;

  constructor(private readonly leave: (s: Subscriber) => void) {}

  deliver(result: Result) {
    if (this.ended) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value: result, done: false });
      return;
    }
    if (this.backlog.length >= MAX_BACKLOG) this.backlog.shift();
    this.backlog.push(result);
  }

  /** The shared subscription ended (error: it failed); results already delivered are still handed out. */
  end(error?: { error: unknown }) {
    if (this.ended) return;
    this.ended = true;
    if (error) this.failure = error;
    const w = this.waiting;
    this.waiting = null;
    if (w) (error ? w.reject(error.error) : w.resolve({ value: undefined, done: true }));
  }

  next(): Promise<IteratorResult<Result>> {
    if (this.backlog.length) return Promise.resolve({ value: this.backlog.shift()!, done: false });
    if (this.ended) {
      const f = this.failure;
      this.failure = null;
      return f ? Promise.reject(f.error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<Result>> {
    this.backlog = [];
    this.failure = null;
    this.end();
    this.leave(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<Result>> {
    void this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** `await using` leaves, as with a real async generator (Node 24's have this method; the types ask for it). */
  async [Symbol.asyncDispose]() {
    await this.return();
  }
}

class SharedSubscription<Args> {
  readonly subscribers = new Set<Subscriber>();
  private last: Result | undefined;
  private upstream: AsyncIterator<Result> | undefined;
  private stopped = false;
  /** Resolves with the error result when the subscription could not start, else with null. */
  readonly opened: Promise<Result | null>;

  constructor(
    /** The first subscriber's execution arguments: equal keys make them valid for every subscriber. */
    readonly args: Args,
    start: () => Promise<Started> | Started,
    private readonly forget: () => void,
  ) {
    this.opened = this.open(start);
  }

  join(): Subscriber {
    const s = new Subscriber((left) => this.leave(left));
    this.subscribers.add(s);
    if (this.last) s.deliver(this.last);
    return s;
  }

  private leave(s: Subscriber) {
    this.subscribers.delete(s);
    if (this.subscribers.size === 0) this.stop();
  }

  private stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.forget();
    void this.upstream?.return?.()?.catch(() => {});
  }

  private async open(start: () => Promise<Started> | Started): Promise<Result | null> {
    let started: Started;
    try {
      started = await start();
    } catch (error) {
      this.finish({ error });
      return null;
    }
    if (!isAsyncIterable(started)) {
      // Refused (not found, not allowed, invalid): each waiting subscriber gets the answer; nobody later.
      this.stopped = true;
      this.forget();
      return started;
    }
    this.upstream = started[Symbol.asyncIterator]();
    if (this.stopped) {
      // Everybody left while it started.
      void this.upstream.return?.()?.catch(() => {});
      return null;
    }
    void this.pump(this.upstream);
    return null;
  }

  private async pump(upstream: AsyncIterator<Result>) {
    try {
      for (;;) {
        const r = await upstream.next();
        if (r.done || this.stopped) break;
        this.last = r.value;
        for (const s of this.subscribers) s.deliver(r.value);
      }
      this.finish();
    } catch (error) {
      this.finish({ error });
    }
  }

  private finish(error?: { error: unknown }) {
    this.stopped = true;
    this.forget();
    for (const s of this.subscribers) s.end(error);
    this.subscribers.clear();
  }
}

function isAsyncIterable(v: unknown): v is AsyncIterable<Result> {
  return typeof (v as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}

/** The running shared subscriptions of one API process, by key. */
export class SubscriptionFanOut<Args> {
  private readonly running = new Map<string, SharedSubscription<Args>>();

  /** What a subscriber asks, and as whom: subscribers with equal keys share one subscription. */
  static key(op: { query: string; operationName?: string | null; variables?: unknown }, as: { viewer: unknown; authError?: string }): string {
    return JSON.stringify([op.query, op.operationName ?? null, op.variables ?? null, as.viewer, as.authError ?? null]);
  }

  /**
   * The execution arguments of the running subscription with this key, if any: a new subscriber
   * with this key joins it, so it needs no parsing, validation or context of its own.
   */
  argsOf(key: string): Args | undefined {
    return this.running.get(key)?.args;
  }

  /**
   * Joins the running subscription with this key, or starts one with start(args) (the envelop
   * subscribe: subscribe resolver, authorization). Returns the subscriber's stream of results, or the
   * result that refused it (not found, not allowed).
   */
  async subscribe(key: string, args: Args, start: (args: Args) => Promise<Started> | Started): Promise<AsyncGenerator<Result> | Result> {
    let shared = this.running.get(key);
    if (!shared) {
      const created: SharedSubscription<Args> = new SharedSubscription(args, () => start(args), () => {
        if (this.running.get(key) === created) this.running.delete(key);
      });
      this.running.set(key, (shared = created));
    }
    const subscriber = shared.join();
    const refused = await shared.opened;
    if (refused) {
      await subscriber.return();
      return refused;
    }
    return subscriber;
  }
}
