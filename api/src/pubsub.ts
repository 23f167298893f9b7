import { createPubSub } from 'graphql-yoga';
import type { PgEventTarget } from '@mailpanel/core/pubsub';

/** Topics the API subscribes to. Payloads carry ids only; resolvers reload the row. */
export type Topics = {
  mailbox: [mailboxId: string, payload: { id: string }];
  migration: [migrationId: string, payload: { id: string; status: string }];
};

export function createAppPubSub(eventTarget: PgEventTarget) {
  return createPubSub<Topics>({ eventTarget: eventTarget as never });
}
export type PubSub = ReturnType<typeof createAppPubSub>;

const perEvent = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * Subscribers of one event share one load. One NOTIFY is dispatched once, so every subscriber's
 * resolver receives the same payload object: it keys the cache, together with what the subscriber
 * selects and its tenant filter. 1,000 subscribers to one migration cost one query per event, not 1,000.
 */
export function loadOncePerEvent<T>(payload: object, key: unknown, load: () => Promise<T>): Promise<T> {
  let loads = perEvent.get(payload);
  if (!loads) perEvent.set(payload, (loads = new Map()));
  const k = JSON.stringify(key);
  let p = loads.get(k) as Promise<T> | undefined;
  if (!p) loads.set(k, (p = load()));
  return p;
}
