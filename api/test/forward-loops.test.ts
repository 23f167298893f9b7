// Forwarding loops through the API on the real PostgreSQL: every mutation that adds routing refuses a
// loop (ValidationError on the field, nothing written), removals are allowed and what they expose is
// reported by forwardLoops, two transactions cannot each add half of a loop, and the database
// function Postfix asks (mail_alias_lookup) agrees with the API on which forwards loop.
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, type Tenant, sql, startTestApp, success } from '../../test/harness.js';
import { findLoops, loopThrough } from '../../core/src/forward-routing.js';
import { loadRoutingTable } from '../../api/src/forward-loops.js';
import { db } from '../../core/src/db.js';

const ERR = `... on Error { __typename message } ... on ValidationError { fieldErrors { field code message } }`;
const CREATE = `mutation($s:String!,$d:[String!]!){ r: createForward(source:$s, destinations:$d){ __typename ... on MutationCreateForwardSuccess { forward { id source destinations } } ${ERR} } }`;
const UPDATE = `mutation($id:ID!,$d:[String!]!){ r: updateForward(id:$id, destinations:$d){ __typename ... on MutationUpdateForwardSuccess { forward { id source destinations } } ${ERR} } }`;
const LOOPS = `{ forwardLoops { path forwards { source destinations } } }`;
const COUNT = `{ forwards { totalCount } }`;

describe('forward loops', async () => {
  const t = await startTestApp();
  const A = await createTenant(t, {}, 'loopa');
  const B = await createTenant(t, {}, 'loopb');
  const a = (local: string) => `${local}@${A.domain}`;
  const b = (local: string) => `${local}@${B.domain}`;

  const create = async (tenant: Tenant, s: string, d: string[]) => (await t.ok(CREATE, { s, d }, tenant.token)).r;
  const created = async (tenant: Tenant, s: string, d: string[]) => success(await create(tenant, s, d), 'forward') as { id: string };
  const auditCount = async (tenant: Tenant) => (await t.ok(`{ auditEvents { totalCount } }`, {}, tenant.token)).auditEvents.totalCount as number;

  /** Asserts the refusal a user sees, and that nothing was written (forward count and audit log unchanged). */
  async function refused(tenant: Tenant, run: () => Promise<any>, path: string, field = 'destinations') {
    const [forwards, events] = [(await t.ok(COUNT, {}, tenant.token)).forwards.totalCount, await auditCount(tenant)];
    const r = await run();
    expect(r.__typename, JSON.stringify(r)).toBe('ValidationError');
    expect(r.fieldErrors).toEqual([{ field, code: 'FORWARD_LOOP', message: `Mail would go round in a loop: ${path}` }]);
    expect((await t.ok(COUNT, {}, tenant.token)).forwards.totalCount).toBe(forwards);
    expect(await auditCount(tenant)).toBe(events);
  }

  it('refuses a direct loop a → b → a, and the loop back through +tag (x → x+tag)', async () => {
    await created(A, a('d1'), [a('d2')]);
    await refused(A, () => create(A, a('d2'), [a('d1'), 'copy@far.test']), `${a('d2')} → ${a('d1')} → ${a('d2')}`);
    await refused(A, () => create(A, a('tag'), [a('tag+news')]), `${a('tag')} → ${a('tag+news')} → ${a('tag')}`);
    // Through +tag of another forward: d2+x folds to d2 — and d2 is still free, so this one is fine.
    await created(A, a('d3'), [a('d1+x')]);
    await refused(A, () => create(A, a('d2'), [a('d3+y')]), `${a('d2')} → ${a('d3+y')} → ${a('d3')} → ${a('d1+x')} → ${a('d1')} → ${a('d2')}`);
  });

  it('refuses a three-step loop; a +tag to a mailbox or a mailbox with a forward of its own is no loop', async () => {
    await createMailbox(t, A.token, 'box', A.domain);
    await created(A, a('s1'), [a('s2')]);
    await created(A, a('s2'), [a('s3'), a('box+keep')]);
    await refused(A, () => create(A, a('s3'), [a('s1')]), `${a('s3')} → ${a('s1')} → ${a('s2')} → ${a('s3')}`);
    await created(A, a('s3'), [a('box+s3')]);
  });

  it('refuses two catch-alls pointing at unknown addresses of each other\'s domain, across customers, naming only what the caller may see', async () => {
    await created(A, `*@${A.domain}`, [b('nobody')]);
    await refused(B, () => create(B, `*@${B.domain}`, [a('ghost')]), `*@${B.domain} → ${a('ghost')} → … → ${b('nobody')} → *@${B.domain}`);
    // An admin creating the same one sees every address.
    const admin = { ...B, token: t.adminToken };
    await refused(admin, () => create(admin, `*@${B.domain}`, [a('ghost')]), `*@${B.domain} → ${a('ghost')} → *@${A.domain} → ${b('nobody')} → *@${B.domain}`);
    // A catch-all pointing at an unknown address of its own domain catches its own mail.
    await refused(B, () => create(B, `*@${B.domain}`, [b('whoever')]), `*@${B.domain} → ${b('whoever')} → *@${B.domain}`);
    // The catch-all may point at a mailbox of the other domain: a mailbox is no catch-all target.
    await createMailbox(t, A.token, 'real', A.domain);
    await created(B, `*@${B.domain}`, [a('real')]);
  });

  it('updateForward edits destinations, audits the change, and refuses one that closes a loop', async () => {
    const f = await created(A, a('u1'), ['out@far.test']);
    await created(A, a('u2'), [a('u1')]);
    const r = success((await t.ok(UPDATE, { id: f.id, d: 'one@far.test, TWO@far.test' }, A.token)).r, 'forward');
    expect(r).toMatchObject({ source: a('u1'), destinations: ['one@far.test', 'two@far.test'] });
    const events = await t.ok(`{ auditEvents(filter:{action:"forward.update"}) { edges { node { targetLabel details } } } }`, {}, A.token);
    expect(events.auditEvents.edges[0].node).toEqual({ targetLabel: a('u1'), details: { destinations: ['one@far.test', 'two@far.test'], previous: ['out@far.test'] } });
    await refused(A, () => t.ok(UPDATE, { id: f.id, d: ['one@far.test', a('u2')] }, A.token).then((x) => x.r), `${a('u1')} → ${a('u2')} → ${a('u1')}`);
    expect((await t.ok(`{ node(id:"${f.id}") { ... on Forward { destinations } } }`, {}, A.token)).node.destinations).toEqual(['one@far.test', 'two@far.test']);
    // Another tenant's forward reads as not found.
    expect((await t.ok(UPDATE, { id: f.id, d: ['x@far.test'] }, B.token)).r.__typename).toBe('NotFoundError');
  });

  it('two transactions each adding half of a loop: exactly one wins, every time', async () => {
    for (let i = 0; i < 8; i++) {
      const [p, q] = [a(`race${i}p`), b(`race${i}q`)];
      const results = await Promise.all([create(A, p, [q]), create(B, q, [p])]);
      expect(results.map((r) => r.__typename).sort(), JSON.stringify(results)).toEqual(['MutationCreateForwardSuccess', 'ValidationError']);
    }
    const table = await loadRoutingTable(db());
    expect(findLoops(table).filter((l) => l.some((h) => h.source.startsWith('race')))).toEqual([]);
  });

  it('deleting a mailbox may expose a loop through a catch-all: allowed, then reported by forwardLoops and bounced by the mail server', async () => {
    const C = await createTenant(t, {}, 'loopc');
    const box = await createMailbox(t, C.token, 'gone', C.domain);
    const catchAll = await created(C, `*@${C.domain}`, [a('fwd-c')]);
    await created(A, a('fwd-c'), [`gone@${C.domain}`]);
    expect((await t.ok(LOOPS, {}, C.token)).forwardLoops).toEqual([]);
    const del = await t.ok(`mutation($id:ID!){ deleteMailbox(id:$id){ __typename } }`, { id: box.id }, C.token);
    expect(del.deleteMailbox.__typename).toBe('MutationDeleteMailboxSuccess');
    const path = `*@${C.domain} → ${a('fwd-c')} → gone@${C.domain} → *@${C.domain}`;
    expect((await t.ok(LOOPS, {}, t.adminToken)).forwardLoops).toContainEqual({
      path,
      forwards: [{ source: `*@${C.domain}`, destinations: [a('fwd-c')] }, { source: a('fwd-c'), destinations: [`gone@${C.domain}`] }],
    });
    // Each customer sees the loops through its own domains, with its own forwards only.
    expect((await t.ok(LOOPS, {}, C.token)).forwardLoops).toEqual([{ path, forwards: [{ source: `*@${C.domain}`, destinations: [a('fwd-c')] }] }]);
    expect((await t.ok(LOOPS, {}, B.token)).forwardLoops).toEqual([]);
    // What Postfix asks for these addresses: the bounce address (5.4.6), not the destinations.
    expect(await sql(`SELECT mail_alias_lookup($1) AS d`, [a('fwd-c')])).toEqual([{ d: 'loop@forward-loop.invalid' }]);
    expect(await sql(`SELECT mail_alias_lookup($1) AS d`, [`@${C.domain}`])).toEqual([{ d: 'loop@forward-loop.invalid' }]);
    // Pointing the catch-all elsewhere ends it.
    success((await t.ok(UPDATE, { id: catchAll.id, d: ['postmaster@far.test'] }, C.token)).r, 'forward');
    expect((await t.ok(LOOPS, {}, C.token)).forwardLoops).toEqual([]);
    expect(await sql(`SELECT mail_alias_lookup($1) AS d`, [`@${C.domain}`])).toEqual([{ d: 'postmaster@far.test' }]);
  });

  it('deleting a forward or disabling a mailbox is never refused; the loop report then agrees with what the mail server does', async () => {
    const E = await createTenant(t, {}, 'loope');
    const e = (local: string) => `${local}@${E.domain}`;
    const x = await created(E, e('x'), ['out@far.test']);
    await created(E, `*@${E.domain}`, [a('back-e')]);
    await created(A, a('back-e'), [e('x')]);
    const del = await t.ok(`mutation($id:ID!){ r: deleteForward(id:$id){ __typename } }`, { id: x.id }, E.token);
    expect(del.r.__typename).toBe('MutationDeleteForwardSuccess');
    // x@E now falls to E's catch-all, which sends it to A, which sends it back to x@E.
    expect((await t.ok(LOOPS, {}, E.token)).forwardLoops.map((l: { path: string }) => l.path)).toEqual([`*@${E.domain} → ${a('back-e')} → ${e('x')} → *@${E.domain}`]);
    expect(await sql(`SELECT mail_alias_loops($1) AS l`, [`*@${E.domain}`])).toEqual([{ l: true }]);

    // A mailbox disabled: allowed, and no loop: Postfix refuses its address (mail_refused, 5.2.1)
    // before any catch-all, so its mail ends there — the panel's report and the lookup Postfix
    // makes both say so (they said "loop" while the disabled address fell to the catch-all).
    const F = await createTenant(t, {}, 'loopf');
    const box = await createMailbox(t, F.token, 'keep', F.domain);
    await created(F, `*@${F.domain}`, [a('back-f')]);
    await created(A, a('back-f'), [`keep@${F.domain}`, `keep+tag@${F.domain}`]);
    expect((await t.ok(LOOPS, {}, F.token)).forwardLoops).toEqual([]);
    const off = await t.ok(`mutation($id:ID!){ r: setMailboxStatus(id:$id, status:DISABLED){ __typename } }`, { id: box.id }, F.token);
    expect(off.r.__typename).toBe('MutationSetMailboxStatusSuccess');
    expect((await t.ok(LOOPS, {}, F.token)).forwardLoops).toEqual([]);
    expect(await sql(`SELECT mail_alias_loops($1) AS l`, [`*@${F.domain}`])).toEqual([{ l: false }]);
    // A forward into the disabled address is no loop either, so the API accepts it.
    const into = await t.ok(CREATE, { s: `other@${F.domain}`, d: [`keep@${F.domain}`] }, F.token);
    expect(into.r.__typename).toBe('MutationCreateForwardSuccess');
  });

  it('enabling a domain whose forwards would loop is refused (enabled FORWARD_LOOP); disabling is always allowed', async () => {
    const D = await createTenant(t, {}, 'loopd');
    await created(D, `back@${D.domain}`, [a('to-d')]);
    const domainOp = (enabled: boolean) =>
      t.ok(`mutation($id:ID!,$e:Boolean){ r: updateDomain(id:$id, enabled:$e){ __typename ... on MutationUpdateDomainSuccess { domain { enabled } } ${ERR} } }`, { id: D.domainId, e: enabled }, t.adminToken).then((x) => x.r);
    expect((await domainOp(false)).__typename).toBe('MutationUpdateDomainSuccess');
    // While D is off, back@D is an outside address: a → back@D is no loop.
    await created(A, a('to-d'), [`back@${D.domain}`]);
    const admin = { ...D, token: t.adminToken };
    await refused(admin, () => domainOp(true), `back@${D.domain} → ${a('to-d')} → back@${D.domain}`, 'enabled');
    expect((await t.ok(`{ node(id:"${D.domainId}") { ... on Domain { enabled } } }`, {}, t.adminToken)).node.enabled).toBe(false);
  });

  it('loops written behind the API\'s back are listed, and the database function agrees with the API on every forward', async () => {
    // Rows as an older version or a hand-written INSERT could leave them.
    const [domainA] = await sql(`SELECT id FROM domains WHERE name = $1`, [A.domain]);
    const legacy: [string, string[]][] = [
      [a('old1'), [a('old2'), 'keep@far.test']],
      [a('old2'), [a('old1+x')]],
      [a('self'), [a('self+1'), a('self')]],
      [a('into'), [a('old1')]],
      [a('fine'), [a('real'), a('fine')]],
    ];
    for (const [source, destinations] of legacy)
      await sql(`INSERT INTO forwards (domain_id, local_part, source, destinations) VALUES ($1, $2, $3, $4)`, [domainA!.id, source.split('@')[0], source, destinations]);
    const paths = (await t.ok(LOOPS, {}, A.token)).forwardLoops.map((l: { path: string }) => l.path);
    expect(paths).toContain(`${a('old1')} → ${a('old2')} → ${a('old1+x')} → ${a('old1')}`);
    expect(paths).toContain(`${a('self')} → ${a('self+1')} → ${a('self')}`);
    expect(paths.join('\n')).not.toContain(a('into'));
    expect(paths.join('\n')).not.toContain(a('fine'));

    const table = await loadRoutingTable(db());
    const rows = await sql(`SELECT source, mail_alias_loops(source) AS loops FROM forwards`);
    expect(rows.length).toBeGreaterThan(10);
    for (const r of rows) expect(r.loops, r.source).toBe(loopThrough(table, r.source) !== null);
    // A forward that only leads into a loop keeps its destinations; Postfix meets the loop one step on.
    expect((await sql(`SELECT mail_alias_lookup($1) AS d`, [a('into')])).map((r) => r.d)).toEqual([a('old1')]);
    expect((await sql(`SELECT mail_alias_lookup($1) AS d`, [a('fine')])).map((r) => r.d).sort()).toEqual([a('fine'), a('real')]);
  });
});
