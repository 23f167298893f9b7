// One browser's tabs share one login (the refresh-token cookie). Invariants:
// - Refreshes are serialised across tabs with the Web Locks API: the API rotates refresh tokens and
//   treats a replay (after a short grace) as theft, so two tabs must never present the same cookie at
//   once. The lock is held until the answer (and its Set-Cookie) has arrived, so the next tab sends
//   the rotated cookie. Where Web Locks are missing (non-secure origins), the in-tab single flight
//   in auth.svelte.ts still holds and the API's reuse grace covers two tabs refreshing together.
// - Sign-out everywhere: a tab that logs out tells the others (BroadcastChannel), which drop their
//   session at once; a tab that logs in tells the others, so tabs waiting on /login can continue.
//   Messages carry no secret.
const CHANNEL = 'mailpanel-session';
const LOCK = 'mailpanel-refresh';

export type TabMessage = { type: 'login' } | { type: 'logout' };

/** Runs fn while holding the browser-wide refresh lock (or at once where Web Locks are missing). */
export function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  return locks ? (locks.request(LOCK, () => fn()) as Promise<T>) : fn();
}

let channel: BroadcastChannel | null | undefined;
const listeners = new Set<(message: TabMessage) => void>();

function open(): BroadcastChannel | null {
  if (channel === undefined) {
    channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);
    channel?.addEventListener('message', (e: MessageEvent<TabMessage>) => {
      if (e.data?.type === 'login' || e.data?.type === 'logout') for (const fn of listeners) fn(e.data);
    });
  }
  return channel;
}

/** Tells the browser's other tabs of this origin (not this one). */
export function tellOtherTabs(message: TabMessage): void {
  open()?.postMessage(message);
}

export function onOtherTabs(fn: (message: TabMessage) => void): () => void {
  open();
  listeners.add(fn);
  return () => listeners.delete(fn);
}
