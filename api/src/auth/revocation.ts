// A disabled or deleted user loses every right at once. Panel access tokens (JWT) carry who the
// viewer is, so on its own a token would keep its rights until it expires; every request therefore
// also checks the state of what the token stands for — the user (exists, not disabled, same role and
// customer as in the token), or the mailbox (active, not being deleted, its domain enabled and still
// the same customer's), and the session (login) it was issued for (not logged out, not revoked).
//
// Cheap: each verdict is cached per subject for VERDICT_TTL_MS, and dropped at once when PostgreSQL
// says the subject lost its rights: triggers (migration 20261203050000_auth_security) send
// `auth.revoked` { kind, id } on the project's one NOTIFY channel (core/src/pubsub.ts), which every API
// instance listens to. The same event closes, synchronously and before any later event on that
// channel is handled, every WebSocket of this process opened by that subject — so no subscription
// event published after the revocation reaches it. The TTL only bounds the damage of a lost NOTIFY.
// Integrators' API tokens are looked up on every request already (api-token.ts); their sockets close
// here too (kind apiToken, or their user).
import type { WebSocket } from 'ws';
import { db } from '@mailpanel/core/db';
import { log } from '@mailpanel/core/logger';
import type { Viewer } from '../context.js';

export const REVOKED_TOPIC = 'auth.revoked';
export type RevokedKind = 'user' | 'mailbox' | 'domain' | 'apiToken' | 'session';
export const REVOKED_MESSAGE = 'This login has ended or its account was disabled';

const VERDICT_TTL_MS = 5000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';

type Subject = Exclude<Viewer, { kind: 'anonymous' }>;
type UserState = { disabled: boolean; role: string; customerId: string | null } | null;
type MailboxState = { usable: boolean; customerId: string; domainId: string } | null;
type Verdict<T> = { state: Promise<T>; at: number };

export class Revocations {
  private users = new Map<string, Verdict<UserState>>();
  private mailboxes = new Map<string, Verdict<MailboxState>>();
  private sessions = new Map<string, Verdict<boolean>>();
  private sockets = new Map<string, Set<{ socket: WebSocket; code: number }>>();
  /** Bumped on every revocation: a lookup that started before it must not be cached after it. */
  private generation = 0;

  private cached<T>(map: Map<string, Verdict<T>>, id: string, load: () => Promise<T>): Promise<T> {
    const hit = map.get(id);
    if (hit && Date.now() - hit.at < VERDICT_TTL_MS) return hit.state;
    const gen = this.generation;
    const state = load();
    const entry = { state, at: Date.now() };
    map.set(id, entry);
    state.then(
      () => gen !== this.generation && map.get(id) === entry && map.delete(id),
      () => map.get(id) === entry && map.delete(id),
    );
    return state;
  }

  private user(id: string) {
    return this.cached(this.users, id, () => db().user.findUnique({ where: { id }, select: { disabled: true, role: true, customerId: true } }));
  }

  private mailbox(id: string) {
    return this.cached(this.mailboxes, id, async () => {
      const m = await db().mailbox.findUnique({
        where: { id },
        select: { status: true, provisioning: true, deletedAt: true, domainId: true, domain: { select: { enabled: true, customerId: true } } },
      });
      if (!m) return null;
      return { usable: m.status === 'ACTIVE' && m.provisioning !== 'DELETING' && !m.deletedAt && m.domain.enabled, customerId: m.domain.customerId, domainId: m.domainId };
    });
  }

  private session(familyId: string) {
    return this.cached(this.sessions, familyId, async () => (await db().refreshToken.count({ where: { familyId, revokedAt: null } })) > 0);
  }

  /** A login just read its user and created its session: remember that verdict (its first requests need no lookup). */
  prime(v: Subject): void {
    const at = Date.now();
    if (v.kind === 'user' && !v.tokenId) this.users.set(v.userId, { state: Promise.resolve({ disabled: false, role: v.role, customerId: v.customerId }), at });
    if (v.sessionId) this.sessions.set(v.sessionId, { state: Promise.resolve(true), at });
  }

  /** Whether the subject of a panel access token may still act now. */
  async stillValid(v: Subject): Promise<boolean> {
    if (![v.kind === 'user' ? v.userId : v.mailboxId, v.sessionId ?? NIL_UUID].every((id) => UUID.test(id))) return false;
    if (v.kind === 'user' && v.tokenId) return true; // API tokens are checked on every request (api-token.ts)
    const [subjectOk, sessionOk] = await Promise.all([
      v.kind === 'user'
        ? this.user(v.userId).then((u) => !!u && !u.disabled && u.role === v.role && u.customerId === v.customerId)
        : this.mailbox(v.mailboxId).then((m) => !!m && m.usable && m.customerId === v.customerId),
      v.sessionId ? this.session(v.sessionId) : true,
    ]);
    return subjectOk && sessionOk;
  }

  /** Closes the socket as soon as what opened it is revoked. Call after stillValid() (it knows a mailbox's domain then). */
  async watch(v: Subject, socket: WebSocket, code: number): Promise<void> {
    const keys =
      v.kind === 'user'
        ? [`user:${v.userId}`, v.tokenId ? `apiToken:${v.tokenId}` : null]
        : [`mailbox:${v.mailboxId}`, `domain:${(await this.mailbox(v.mailboxId))?.domainId}`];
    if (v.sessionId) keys.push(`session:${v.sessionId}`);
    const entry = { socket, code };
    for (const key of keys) {
      if (!key) continue;
      let set = this.sockets.get(key);
      if (!set) this.sockets.set(key, (set = new Set()));
      set.add(entry);
      socket.once('close', () => {
        set.delete(entry);
        if (set.size === 0 && this.sockets.get(key) === set) this.sockets.delete(key);
      });
    }
  }

  /** Handles one `auth.revoked` event: forget the verdicts and close the sockets concerned. */
  revoked(kind: RevokedKind, id: string): void {
    this.generation++;
    if (kind === 'user') this.users.delete(id);
    if (kind === 'mailbox') this.mailboxes.delete(id);
    if (kind === 'session') this.sessions.delete(id);
    if (kind === 'domain') this.mailboxes.clear();
    const set = this.sockets.get(`${kind}:${id}`);
    if (!set) return;
    this.sockets.delete(`${kind}:${id}`);
    const reason = kind === 'apiToken' ? 'API token is invalid, expired or revoked' : REVOKED_MESSAGE;
    for (const { socket, code } of set) socket.close(code, reason);
  }

  /** Listens for revocations on the NOTIFY event target; returns how to stop. */
  listen(events: EventTarget): () => void {
    const onEvent = (e: Event) => {
      const { kind, id } = ((e as CustomEvent).detail ?? {}) as { kind?: RevokedKind; id?: string };
      if (kind && id) this.revoked(kind, id);
      else log.warn('auth.revoked event without kind or id');
    };
    events.addEventListener(REVOKED_TOPIC, onEvent);
    return () => events.removeEventListener(REVOKED_TOPIC, onEvent);
  }
}

/** This process's revocation state, shared by every request and socket. */
export const revocations = new Revocations();
