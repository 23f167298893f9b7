// Cross-process pub/sub over PostgreSQL LISTEN/NOTIFY: the worker (or any API instance) publishes,
// every API instance listens and feeds its subscriptions, so subscriptions work behind a load
// balancer with PostgreSQL as the only shared service. Invariants: one channel, JSON payload under
// PostgreSQL's 8000-byte limit (publish only ids and small counters), and a publish made inside a
// transaction is delivered only if that transaction commits (NOTIFY semantics).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { log } from './logger.js';
import type { Tx } from './db.js';

export const CHANNEL = 'mailpanel_events';
const BARRIER_TOPIC = 'pubsub.barrier';
const MAX_PAYLOAD = 7900;

export interface EventMessage {
  topic: string;
  payload: unknown;
}

export function encodeEvent(topic: string, payload: unknown): string {
  const text = JSON.stringify({ topic, payload } satisfies EventMessage);
  if (Buffer.byteLength(text) > MAX_PAYLOAD) throw new Error(`Event on ${topic} is too large for NOTIFY`);
  return text;
}

/** Publish through a Prisma client or transaction. */
export async function publish(tx: Pick<Tx, '$executeRaw'>, topic: string, payload: unknown): Promise<void> {
  await tx.$executeRaw`SELECT pg_notify(${CHANNEL}, ${encodeEvent(topic, payload)})`;
}

/**
 * An EventTarget whose events arrive from NOTIFY. dispatchEvent() publishes (so local and remote
 * listeners see the same stream); listeners are called for events from every process.
 * Reconnects with backoff when the connection drops.
 */
export class PgEventTarget extends EventTarget {
  private client: pg.Client | undefined;
  private stopped = false;
  private retry = 0;
  private reconnecting = false;
  private publisher: pg.Pool;

  constructor(private readonly connectionString: string) {
    super();
    this.publisher = new pg.Pool({ connectionString, max: 2 });
    this.publisher.on('error', () => {});
  }

  /**
   * Resolves once every event committed before this call has been handled here: it sends a marker
   * and waits for it to come back, and NOTIFYs reach a listener in commit order. A mutation that
   * revoked a login answers only after this process has heard of it (api/src/app.ts).
   */
  async barrier(timeoutMs = 2000): Promise<void> {
    if (!this.client) return;
    const id = randomUUID();
    let done!: () => void;
    const arrived = new Promise<void>((resolve) => (done = resolve));
    const onMarker = (e: Event) => (e as CustomEvent).detail === id && done();
    super.addEventListener(BARRIER_TOPIC, onMarker);
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.publisher.query('SELECT pg_notify($1, $2)', [CHANNEL, encodeEvent(BARRIER_TOPIC, id)]);
      await Promise.race([arrived, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    } finally {
      clearTimeout(timer);
      super.removeEventListener(BARRIER_TOPIC, onMarker);
    }
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('notification', (msg) => {
      if (msg.channel !== CHANNEL || !msg.payload) return;
      try {
        const { topic, payload } = JSON.parse(msg.payload) as EventMessage;
        super.dispatchEvent(new CustomEvent(topic, { detail: payload }));
      } catch (err) {
        log.warn('pubsub: bad event payload', { err });
      }
    });
    const lost = () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => {});
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', lost);
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
    this.retry = 0;
  }

  private scheduleReconnect() {
    if (this.stopped || this.reconnecting) return;
    this.reconnecting = true;
    const delay = Math.min(5000, 100 * 2 ** this.retry++);
    setTimeout(async () => {
      this.reconnecting = false;
      if (this.stopped) return;
      try {
        await this.start();
      } catch {
        this.scheduleReconnect();
      }
    }, delay).unref();
  }

  override dispatchEvent(event: Event): boolean {
    const detail = (event as CustomEvent).detail;
    this.publisher
      .query('SELECT pg_notify($1, $2)', [CHANNEL, encodeEvent(event.type, detail)])
      .catch((err) => log.warn('pubsub: publish failed', { err }));
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
    await this.publisher.end().catch(() => {});
  }
}
