// The login session kept in the browser tab (sessionStorage: it survives a reload, is gone when the
// tab closes, and is not shared between tabs — so two tabs never present the same rotating refresh
// token). The access token goes out as `authorization: Bearer`; the refresh token is traded for a new
// pair by `refreshSession` before the access token expires (lib/auth.ts).

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

export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds. */
  accessTokenExpiresAt: number;
  refreshTokenExpiresAt: number;
  viewer: SessionViewer;
}

export const STORAGE_KEY = 'mailpanel.session';

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled by the browser: the session then lives in memory only
  }
}

let memory: StoredSession | null = null;

export function saveSession(session: StoredSession): void {
  memory = session;
  storage()?.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function loadSession(): StoredSession | null {
  if (memory) return memory;
  const raw = storage()?.getItem(STORAGE_KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as StoredSession;
    if (typeof s?.accessToken !== 'string' || typeof s.refreshToken !== 'string' || typeof s.viewer?.kind !== 'string') return null;
    if (s.refreshTokenExpiresAt < Date.now()) return null;
    memory = s;
    return s;
  } catch {
    return null;
  }
}

export function clearSession(): void {
  memory = null;
  storage()?.removeItem(STORAGE_KEY);
}
