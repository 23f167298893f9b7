// The panel's refresh token as a cookie, so one login serves every tab and survives reloads while no
// script can read it. Invariants:
// - Only requests carrying `X-Session-Cookie: 1` get or use the cookie. The panel sends it; a custom
//   header makes a cross-origin request preflighted, and the API never allows credentialed
//   cross-origin requests (CORS `credentials: false` in app.ts), so another site cannot ride on the
//   cookie; SameSite=Strict keeps it off cross-site requests altogether. Integrators that omit the
//   header get the refresh token in the body exactly as before and never see a cookie.
// - HttpOnly, SameSite=Strict, Path=/graphql (sent to the API only), Max-Age = the refresh token's
//   remaining life, Secure when the request came over https (directly, or by X-Forwarded-Proto behind
//   TRUST_PROXY).
// - The cookie's value is a secret: it is never logged and never answered in a body.
// Plumbing: the context's jar collects Set-Cookie values; the plugin appends them to the response.
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import { config } from '@mailpanel/core/env';
import type { Session } from './auth/session.js';

export const SESSION_COOKIE = 'mailpanel_refresh';
export const SESSION_COOKIE_HEADER = 'x-session-cookie';
const COOKIE_PATH = '/graphql';

/** What a session-issuing field answers: the refresh token is null when it went into the cookie. */
export type IssuedSession = Omit<Session, 'refreshToken'> & { refreshToken: string | null };

/** One request's view of the session cookie. */
export interface SessionCookieJar {
  /** The client asked for the cookie (X-Session-Cookie: 1). */
  readonly wanted: boolean;
  /** The refresh token the cookie carried (only read when wanted). */
  readonly presented: string | null;
  readonly secure: boolean;
  /** Set-Cookie values to send with the response. */
  readonly outgoing: string[];
}

/** A jar that neither reads nor sets a cookie (WebSocket operations). */
export const NO_COOKIES: SessionCookieJar = Object.freeze({ wanted: false, presented: null, secure: false, outgoing: [] as string[] });

const jars = new WeakMap<Request, SessionCookieJar>();

export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

function overHttps(request: Request, req: IncomingMessage | undefined): boolean {
  if (new URL(request.url).protocol === 'https:') return true;
  if ((req?.socket as { encrypted?: boolean } | undefined)?.encrypted) return true;
  if (!config().TRUST_PROXY) return false;
  // Our proxy appends what it saw, like X-Forwarded-For: the last entry is its own.
  return request.headers.get('x-forwarded-proto')?.split(',').at(-1)?.trim().toLowerCase() === 'https';
}

/** The request's jar (made once per request, found again by the response plugin). */
export function sessionCookieJar(request: Request, req?: IncomingMessage): SessionCookieJar {
  let jar = jars.get(request);
  if (!jar) {
    const wanted = request.headers.get(SESSION_COOKIE_HEADER) === '1';
    jar = { wanted, presented: wanted ? readCookie(request.headers.get('cookie'), SESSION_COOKIE) : null, secure: overHttps(request, req), outgoing: [] };
    jars.set(request, jar);
  }
  return jar;
}

function cookie(jar: SessionCookieJar, value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Max-Age=${maxAgeSeconds}; Path=${COOKIE_PATH}; HttpOnly; SameSite=Strict${jar.secure ? '; Secure' : ''}`;
}

/** Hands a new session to the client: the refresh token goes into the cookie when the client asked for it. */
export function deliverSession(jar: SessionCookieJar, session: Session): IssuedSession {
  if (!jar.wanted) return session;
  const maxAge = Math.max(0, Math.floor((session.refreshTokenExpiresAt.getTime() - Date.now()) / 1000));
  jar.outgoing.push(cookie(jar, session.refreshToken, maxAge));
  return { ...session, refreshToken: null };
}

/** Drops the cookie (logout, or a refresh the API refused). */
export function clearSessionCookie(jar: SessionCookieJar): void {
  if (jar.wanted) jar.outgoing.push(cookie(jar, '', 0));
}

/** Appends the Set-Cookie values collected while the request ran. */
export function useSessionCookies(): Plugin {
  return {
    onResponse({ request, response }) {
      // One Set-Cookie for the one cookie: the value set last wins.
      const last = jars.get(request)?.outgoing.at(-1);
      if (last) response.headers.append('set-cookie', last);
    },
  };
}
