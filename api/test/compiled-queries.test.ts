// Queries run compiled (api/src/compiled-queries.ts). Each query below is asked compiled and through
// the reference executor, and must get the same answer: data, errors, their codes and paths alike.
import { describe, expect, it } from 'vitest';
import { parse } from 'graphql';
import { createMailbox, createTenant, startTestApp } from '../../test/harness.js';
import { compiledQueries, runsCompiled } from '../src/compiled-queries.js';
import { onQuery } from '../../core/src/db.js';

describe('compiled queries (issue 15)', async () => {
  const t = await startTestApp();
  const a = await createTenant(t);
  const m = await createMailbox(t, a.token, 'jit', a.domain);
  const post = async (body: object, token = t.adminToken) =>
    (await t.app.yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) })).json();
  const both = async (body: object, token?: string) => {
    const compiled = await post(body, token);
    compiledQueries.enabled = false;
    const reference = await post(body, token).finally(() => (compiledQueries.enabled = true));
    expect(compiled, JSON.stringify(body)).toEqual(reference);
    return compiled as { data?: any; errors?: any[] };
  };

  it('only a document of one query runs compiled', () => {
    const is = (doc: string, variableValues = {}) => runsCompiled({ document: parse(doc), schema: t.app.yoga.getEnveloped().schema, variableValues });
    expect(is('{ viewer { __typename } }')).toBe(true);
    expect(is('query Q { ...F } fragment F on Query { viewer { __typename } }')).toBe(true);
    expect(is('mutation { logout }')).toBe(false);
    expect(is('subscription { mailboxChanged(id: "x") { id } }')).toBe(false);
    expect(is('query A { viewer { __typename } } query B { viewer { __typename } }')).toBe(false);
    // Fields the prisma plugin resolves from its per-row selection maps (relations, counts, their own select), through fragments too.
    expect(is('{ mailboxes(first: 2) { edges { node { address domain { name } customer { name } } } } }')).toBe(true);
    expect(is('{ mailboxes(first: 2) { edges { node { address autoresponder { enabled } } } } }')).toBe(false);
    expect(is('{ domains(first: 2) { edges { node { name mailboxCount } } } }')).toBe(false);
    expect(is('{ ...F } fragment F on Query { domains(first: 1) { edges { node { ... on Domain { customer { name } } } } } }')).toBe(false);
    // Bad variables are refused by the reference executor, as in a mutation.
    expect(is('query($n: Int!) { mailboxes(first: $n) { totalCount } }', { n: 5 })).toBe(true);
    expect(is('query($n: Int!) { mailboxes(first: $n) { totalCount } }', { n: 'five' })).toBe(false);
  });

  it('answers as the reference executor: lists, nodes, fragments, directives, aliases, scalars, introspection', async () => {
    const page = await both({ query: `{ mailboxes(first: 5) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id address createdAt quota { usedMb limitMb percent } domain { id name createdAt } customer { name } autoresponder { enabled } } } } }` });
    expect(page.data.mailboxes.edges.length).toBeGreaterThan(0);
    await both({ query: `{ mailboxes(first: 3) { edges { node { address } } } }` }, a.token);
    await both({ query: `query($id: ID!, $yes: Boolean!) { node(id: $id) { __typename id ... on Mailbox { a1: address a2: localPart status @include(if: $yes) purgeAt @skip(if: $yes) } } }`, variables: { id: m.id, yes: true } });
    await both({ query: `query($id: ID!) { n: node(id: $id) { ... on Domain { name } } viewer { __typename } }`, variables: { id: m.id } });
    // A literal argument is data, never code: quotes, backticks, template and comment marks, newlines.
    const hostile = JSON.stringify('jit"); globalThis.jitInjected = 1; //`${globalThis.x}\u2028*/\n\'');
    const literal = await both({ query: `{ mailboxes(first: 3, filter: { search: ${hostile} }) { totalCount edges { node { address } } } }` });
    expect(literal.errors).toBeUndefined();
    expect((globalThis as { jitInjected?: number }).jitInjected).toBeUndefined();
    await both({ query: `{ __schema { queryType { name } types { name kind } } __type(name: "Mailbox") { fields { name type { name kind ofType { name } } } } }` });
  });

  it('errors as the reference executor: a malformed id, a bad variable, an unknown field, a refused field', async () => {
    const malformed = await both({ query: `{ node(id: "not-an-id") { id } }` });
    expect(malformed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badVariable = await both({ query: `query($n: Int!) { mailboxes(first: $n) { totalCount } }`, variables: { n: 'five' } });
    expect(badVariable.errors?.map((e) => e.message)).toEqual([expect.stringContaining('"five"')]);
    await both({ query: `{ mailboxes(first: 2) { nope } }` });
    await both({ query: `{ customers(first: 2) { totalCount } }` }, a.token);
    await both({ query: `{ mailboxes(first: 2) { totalCount } }` }, 'not-a-token');
  });

  it('a list whose rows carry relations the prisma plugin loads keeps its statements (no statement per row)', async () => {
    for (let i = 0; i < 3; i++) await createTenant(t);
    const query = `{ domains(first: 25) { totalCount edges { node { id name mailboxCount customer { id name package { name } } catchAll { id } } } } }`;
    const counted = async () => {
      let n = 0;
      // The page's statements; the viewer's own checks (its user and login, re-read when their cached
      // verdict is 5 s old — a slow machine gets there during this test) are not the page's.
      const off = onQuery((sql) => void (/"(users|refresh_tokens)"/.test(sql) || n++));
      const r = await post({ query });
      off();
      return { r, n };
    };
    const compiled = await counted();
    compiledQueries.enabled = false;
    const reference = await counted().finally(() => (compiledQueries.enabled = true));
    expect(compiled.r).toEqual(reference.r);
    expect((compiled.r as { data: any }).data.domains.edges.length).toBeGreaterThanOrEqual(4);
    expect(compiled.n).toBe(reference.n);
    expect(compiled.n).toBeLessThanOrEqual(3);
  });

  it('a document of several operations runs the one operationName names, every time', async () => {
    const query = `query Mine { viewer { __typename } } query Count { mailboxes(first: 1) { totalCount } }`;
    for (const name of ['Mine', 'Count', 'Mine', 'Count']) {
      const r = (await both({ query, operationName: name })) as { data: Record<string, unknown> };
      expect(Object.keys(r.data)).toEqual([name === 'Mine' ? 'viewer' : 'mailboxes']);
    }
  });
});
