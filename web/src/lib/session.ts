// The panel's login as this tab holds it: in memory only. The access token goes out as
// `authorization: Bearer`; the refresh token lives in an HttpOnly cookie that no script can read
// (the API sets it for requests with "X-Session-Cookie: 1"), shared by every tab of the browser, and
// is traded for a new pair by `refreshSession` before the access token expires (lib/auth.svelte.ts).
// A new tab or a reload starts without a session and resumes it from the cookie.

export type ViewerKind = 'ADMIN' | 'CUSTOMER' | 'MAILBOX';

export interface SessionViewer {
  kind: ViewerKind;
  label: string;
  readOnly: boolean;
  userId: string | null;
  customerId: string | null;
  customerName: string | null;
  mailboxId: string | null;
}

export interface PanelSession {
  accessToken: string;
  /** Epoch milliseconds. */
  accessTokenExpiresAt: number;
  viewer: SessionViewer;
}

/** Who a session is for: two sessions of one person compare equal. */
export function viewerKey(v: SessionViewer): string {
  return `${v.kind}:${v.userId ?? ''}:${v.mailboxId ?? ''}`;
}
