import { describe, expect, it } from 'vitest';
import { assertInterfaceType } from 'graphql';
import { createTenant, errorOutputOf, startTestApp } from '../../test/harness.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
describe('malformed ids and cursors', async () => {
  const t = await startTestApp();
  const { schema } = await import('../src/schema/index.js');
  const NODE_TYPES = schema.getImplementations(assertInterfaceType(schema.getType('Node'))).objects.map((o) => o.name).sort();
  const tenant = await createTenant(t);

  it('a non-UUID id of every node type is a typed not-found, anonymously or not, with no error-level log line', async () => {
    expect(NODE_TYPES.length).toBeGreaterThanOrEqual(12);
    const errors = await errorOutputOf(async () => {
      for (const type of NODE_TYPES) {
        for (const token of [undefined, t.adminToken]) {
          const r = await t.gql(`query($id:ID!){ node(id:$id) { id } }`, { id: b64(`${type}:not-a-uuid`) }, token);
          expect(r, type).toEqual({ data: { node: null }, errors: [expect.objectContaining({ message: `${type} not found`, extensions: { code: 'NOT_FOUND' } })] });
        }
      }
      const all = await t.gql(`query($ids:[ID!]!){ nodes(ids:$ids) { id } }`, { ids: NODE_TYPES.map((type) => b64(`${type}:${'9'.repeat(36)}`)) });
      expect(all.errors?.map((e) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    });
    expect(errors).toEqual([]);
  });

  it('an undecodable or unknown id is a typed error that quotes none of it', async () => {
    const errors = await errorOutputOf(async () => {
      for (const id of ['x'.repeat(10_000), '%%%', b64(`Nope:${'a'.repeat(5000)}`), b64('Nope:00000000-0000-0000-0000-000000000000'), b64(`${'N'.repeat(300)}:00000000-0000-0000-0000-000000000000`)]) {
        const r = await t.gql(`query($id:ID!){ node(id:$id) { id } }`, { id });
        expect(r.data).toEqual({ node: null });
        expect(['NOT_FOUND', 'BAD_USER_INPUT']).toContain(r.errors?.[0]?.extensions?.code);
        expect(r.errors![0]!.message.length).toBeLessThan(60);
      }
      // A mutation's id argument answers its typed NotFoundError, as before.
      const m = await t.gql(`mutation($id:ID!){ deleteMailbox(id:$id) { __typename } }`, { id: b64('Mailbox:not-a-uuid') }, t.adminToken);
      expect(m.data?.deleteMailbox).toEqual({ __typename: 'NotFoundError' });
    });
    expect(errors).toEqual([]);
  });

  it('a cursor this API did not give out is BAD_USER_INPUT with a short message, top-level or nested; real cursors page on', async () => {
    const errors = await errorOutputOf(async () => {
      const cases: [string, Record<string, unknown>][] = [
        [`query($c:String){ mailboxes(after:$c) { edges { node { id } } } }`, { c: 'y'.repeat(10_000) }],
        [`query($c:String){ mailboxes(after:$c) { edges { node { id } } } }`, { c: b64('GPC:S:not-a-uuid') }],
        [`query($c:String = "${b64('GPC:N:12')}"){ domains(before:$c, last:2) { edges { node { id } } } }`, {}],
        [`{ customers(first:2) { edges { node { domains(after:"${b64('GPC:S:' + 'z'.repeat(500))}") { edges { node { name } } } } } } }`, {}],
        [`query($c:String){ customers { edges { node { ...D } } } } fragment D on Customer { domains(after:$c) { totalCount } }`, { c: b64('GPC:S:x') }],
      ];
      for (const [doc, vars] of cases) {
        const r = await t.gql(doc, vars, t.adminToken);
        expect(r.data, doc).toBeUndefined();
        expect(r.errors, doc).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
        expect(r.errors![0]!.message.length).toBeLessThan(60);
      }
    });
    expect(errors).toEqual([]);
    await t.ok(`mutation($n:String!,$c:ID!){ createDomain(name:$n, customerId:$c){ __typename } }`, { n: `second-${tenant.domain}`, c: tenant.customerId }, t.adminToken);
    const first = await t.ok(`{ domains(first:1) { edges { cursor node { name } } } }`, {}, tenant.token);
    const next = await t.ok(`query($c:String){ domains(first:1, after:$c) { edges { node { name } } } }`, { c: first.domains.edges[0].cursor }, tenant.token);
    expect(next.domains.edges).toHaveLength(1);
    expect(next.domains.edges[0].node.name).not.toBe(first.domains.edges[0].node.name);
  });
});
