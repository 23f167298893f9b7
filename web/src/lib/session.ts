// The login session kept in the browser tab (sessionStorage: gone when the tab closes, not shared
// between tabs). Access token for `authorization: Bearer`, refresh token for `refreshSession`.

export type ViewerKind = 'ADMIN' | 'CUSTOMER' | 'MAILBOX';

export interface SessionViewer {
  kind: ViewerKind;
  label: string;
}

export interface StoredSession {
  accessToken: string;
  refreshToken: string;
  viewer: SessionViewer;
}

export const STORAGE_KEYS = {
  accessToken: 'mailpanel.accessToken',
  refreshToken: 'mailpanel.refreshToken',
  viewer: 'mailpanel.viewer',
} as const;

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled by the browser
  }
}

export function saveSession(session: StoredSession): void {
  const s = storage();
  if (!s) return;
  s.setItem(STORAGE_KEYS.accessToken, session.accessToken);
  s.setItem(STORAGE_KEYS.refreshToken, session.refreshToken);
  s.setItem(STORAGE_KEYS.viewer, JSON.stringify(session.viewer));
}

export function loadSession(): StoredSession | null {
  const s = storage();
  if (!s) return null;
  const accessToken = s.getItem(STORAGE_KEYS.accessToken);
  const refreshToken = s.getItem(STORAGE_KEYS.refreshToken);
  const rawViewer = s.getItem(STORAGE_KEYS.viewer);
  if (!accessToken || !refreshToken || !rawViewer) return null;
  try {
    const viewer = JSON.parse(rawViewer) as SessionViewer;
    if (typeof viewer?.label !== 'string' || typeof viewer?.kind !== 'string') return null;
    return { accessToken, refreshToken, viewer };
  } catch {
    return null;
  }
}

export function clearSession(): void {
  const s = storage();
  if (!s) return;
  for (const key of Object.values(STORAGE_KEYS)) s.removeItem(key);
}
