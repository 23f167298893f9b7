// The pub/sub barrier on a real PostgreSQL: once barrier() resolves, every event committed before it
// has been dispatched to this process's listeners (NOTIFYs arrive in commit order).
import { describe, expect, it } from 'vitest';
import { db, databaseUrl } from './db.js';
import { PgEventTarget, publish } from './pubsub.js';

describe('PgEventTarget.barrier', () => {
  it('resolves only after the events committed before it were handled here', async () => {
    const events = new PgEventTarget(databaseUrl());
    await events.start();
    try {
      for (let i = 0; i < 20; i++) {
        let seen = false;
        const on = () => (seen = true);
        events.addEventListener(`barrier.test.${i}`, on);
        // Committed through another connection (Prisma's pool), as another instance or a worker would.
        await publish(db(), `barrier.test.${i}`, { i });
        await events.barrier();
        expect(seen, `event ${i}`).toBe(true);
        events.removeEventListener(`barrier.test.${i}`, on);
      }
    } finally {
      await events.stop();
    }
  });
});
