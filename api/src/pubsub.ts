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
