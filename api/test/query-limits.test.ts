import { describe, expect, it } from 'vitest';
import { startTestApp } from '../../test/harness.js';

describe('hostile queries', async () => {
  const t = await startTestApp({ listen: true });

  it('a query nested deeper than the limit is refused before anything runs', async () => {
    let q = 'name';
    for (let i = 0; i < 7; i++) q = `customer { domains { edges { node { ${q} } } } }`;
    const r = await t.gql(`{ domains { edges { node { ${q} } } } }`, {}, t.adminToken);
    expect(r.data).toBeUndefined();
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_DEEP' } });
  });

  it('page sizes multiply: 200 mailboxes × 200 domains each is refused, a normal page is not', async () => {
    const costly = `{ mailboxes(first:200) { edges { node { domain { customer { domains(first:200) { edges { node { name } } } } } } } } }`;
    const r = await t.gql(costly, {}, t.adminToken);
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COSTLY' } });
    const viaVariables = await t.gql(`query($n:Int){ mailboxes(first:$n) { edges { node { domain { customer { domains(first:$n) { edges { node { name } } } } } } } } }`, { n: 200 }, t.adminToken);
    expect(viaVariables.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COSTLY' } });
    const normal = await t.gql(`{ mailboxes(first:50) { totalCount edges { node { address domain { name } customer { name } quota { usedMb } } } } }`, {}, t.adminToken);
    expect(normal.errors).toBeUndefined();
  });

  it('costs through fragments count too', async () => {
    const r = await t.gql(
      `query { mailboxes(first:200) { ...M } } fragment M on MailboxConnection { edges { node { domain { customer { domains(first:200) { edges { node { name } } } } } } } }`,
      {},
      t.adminToken,
    );
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'QUERY_TOO_COSTLY' } });
  });

  it('a fragment cycle is a validation error, not a crash', async () => {
    const r = await t.gql(`query { viewer { ...A } } fragment A on Viewer { label ...B } fragment B on Viewer { ...A }`, {}, t.adminToken);
    expect(r.errors?.[0]?.message).toMatch(/Cannot spread fragment/);
  });

  it('batched requests are refused and oversized bodies get 413', async () => {
    const batch = await fetch(`${t.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ viewer { kind } }' }, { query: '{ viewer { kind } }' }]),
    });
    expect(batch.status).toBeGreaterThanOrEqual(400);
    const big = await fetch(`${t.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ viewer { kind } }`, variables: { pad: 'x'.repeat(2_000_000) } }),
    });
    expect(big.status).toBe(413);
  });
});
