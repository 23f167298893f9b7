import { expect, it } from 'vitest';
import { createTenant, startTestApp } from '../../test/harness.js';

it('mutation results can select counts and relations like any query', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t);
  const pkg = await t.ok(`mutation{ createHostingPackage(input:{name:"counted"}){ ... on MutationCreateHostingPackageSuccess { hostingPackage { name customerCount } } } }`, {}, t.adminToken);
  expect(pkg.createHostingPackage.hostingPackage).toEqual({ name: 'counted', customerCount: 0 });
  const upd = await t.ok(`mutation($id:ID!){ updateHostingPackage(id:$id, input:{maxMailboxes:9}){ ... on MutationUpdateHostingPackageSuccess { hostingPackage { maxMailboxes customerCount } } } }`, { id: tenant.packageId }, t.adminToken);
  expect(upd.updateHostingPackage.hostingPackage).toEqual({ maxMailboxes: 9, customerCount: 1 });
  const dom = await t.ok(`mutation($id:ID!){ updateDomain(id:$id, enabled:true){ ... on MutationUpdateDomainSuccess { domain { name mailboxCount forwardCount customer { name } } } } }`, { id: tenant.domainId }, t.adminToken);
  expect(dom.updateDomain.domain).toMatchObject({ name: tenant.domain, mailboxCount: 0, forwardCount: 0 });
  const cust = await t.ok(`mutation($id:ID!){ updateCustomer(id:$id, email:"x@y.example"){ ... on MutationUpdateCustomerSuccess { customer { email package { name } } } } }`, { id: tenant.customerId }, t.adminToken);
  expect(cust.updateCustomer.customer.package.name).toMatch(/^pkg-/);
});

it('customers can be filtered by hosting package', async () => {
  const t = await startTestApp();
  const a = await createTenant(t);
  await createTenant(t);
  const r = await t.ok(`query($p:ID){ customers(packageId:$p){ totalCount edges { node { id } } } }`, { p: a.packageId }, t.adminToken);
  expect(r.customers.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([a.customerId]);
  expect(r.customers.totalCount).toBe(1);
});
