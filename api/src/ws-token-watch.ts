// Sockets opened with an integrator's API token stay open only while that token may act. A revoked
// token, a deleted token or a disabled or deleted user closes its sockets at once through NOTIFY
// (auth/revocation.ts); what sends no NOTIFY — an API token reaching its expiresAt — is caught here: one
// query per interval re-checks the tokens of every such socket of this process (also the safety net
// should a NOTIFY be lost). An access token's end is known when the socket opens (a timer, app.ts).
import type { WebSocket } from 'ws';
import { db } from '@mailpanel/core/db';
import { log } from '@mailpanel/core/logger';
import { usableApiToken } from './auth/api-token.js';

export interface ApiTokenSocketWatch {
  add(tokenId: string, socket: WebSocket): void;
  /** Closes the sockets whose token can no longer act; returns how many. */
  check(): Promise<number>;
  stop(): void;
}

export function watchApiTokenSockets(everySeconds: number, closeCode: number): ApiTokenSocketWatch {
  const sockets = new Map<string, Set<WebSocket>>();
  let checking: Promise<number> | null = null;
  const check = async () => {
    if (sockets.size === 0) return 0;
    const usable = await db().apiToken.findMany({ where: { id: { in: [...sockets.keys()] }, ...usableApiToken() }, select: { id: true } });
    const keep = new Set(usable.map((t) => t.id));
    let closed = 0;
    for (const [id, set] of sockets) {
      if (keep.has(id)) continue;
      for (const socket of set) socket.close(closeCode, 'API token is invalid, expired or revoked');
      closed += set.size;
      sockets.delete(id);
    }
    return closed;
  };
  const tick = () => {
    checking ??= check()
      .catch((err) => (log.warn('API token socket check failed', { err }), 0))
      .finally(() => (checking = null));
  };
  const timer = setInterval(tick, everySeconds * 1000);
  timer.unref();
  return {
    add(tokenId, socket) {
      let set = sockets.get(tokenId);
      if (!set) sockets.set(tokenId, (set = new Set()));
      set.add(socket);
      socket.once('close', () => {
        set.delete(socket);
        if (set.size === 0 && sockets.get(tokenId) === set) sockets.delete(tokenId);
      });
    },
    check,
    stop: () => clearInterval(timer),
  };
}
