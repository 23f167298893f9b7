import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp } from '../../test/harness.js';

describe('smoke', async () => {
  const t = await startTestApp({ worker: true });
  it('creates a tenant and a mailbox', async () => {
    const tenant = await createTenant(t);
    const m = await createMailbox(t, tenant.token, 'Alice', tenant.domain);
    expect(m.address).toBe(`alice@${tenant.domain}`);
  });
});
