// Live state of the mailboxes on screen: one `mailboxQuota` subscription per mailbox (it answers
// with the current usage at once, then every change: the worker's measurements, a new limit) and one
// `mailboxChanged` (provisioning, status, autoresponder). Events override the fetched rows until the
// next fetch, which calls clear().
import { untrack } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import type { ResultOf } from './graphql';
import { getClient } from './graphql/client.svelte';
import { MailboxChangedSubscription, MailboxFields, MailboxQuotaSubscription } from './mailbox';

type Mailbox = ResultOf<typeof MailboxFields>;
type Quota = ResultOf<typeof MailboxQuotaSubscription>['mailboxQuota'];

export class LiveMailboxes {
  rows = new SvelteMap<string, Mailbox>();
  quotas = new SvelteMap<string, Quota>();

  /** Subscribes for the ids `ids()` returns (a comma-joined key, so equal lists do not resubscribe). */
  constructor(ids: () => string) {
    $effect(() => {
      const key = ids();
      if (!key) return;
      const client = getClient();
      const subs = key.split(',').flatMap((id) => [
        client.subscription(MailboxQuotaSubscription, { mailboxId: id }).subscribe((r) => {
          if (r.data) this.quotas.set(id, r.data.mailboxQuota);
        }),
        client.subscription(MailboxChangedSubscription, { id }).subscribe((r) => {
          if (r.data) this.rows.set(id, r.data.mailboxChanged);
        }),
      ]);
      return () => subs.forEach((s) => s.unsubscribe());
    });
  }

  /** The row as it is now: the latest event, else the fetched one, with the latest quota. */
  merge(row: Mailbox): Mailbox {
    const latest = this.rows.get(row.id) ?? row;
    const quota = this.quotas.get(row.id);
    return quota ? { ...latest, quota } : latest;
  }

  set(row: Mailbox) {
    this.rows.set(row.id, row);
  }

  clear() {
    untrack(() => {
      this.rows.clear();
    });
  }
}
