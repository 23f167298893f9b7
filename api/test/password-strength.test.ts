// Weak passwords are refused wherever a panel user's or a mailbox's password is set, with the
// estimator's reason next to the field; strong ones are taken (PASSWORD_MIN_SCORE, default 3).
import { describe, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp } from '../../test/harness.js';

const ERR = `... on ValidationError { fieldErrors { field code message } } ... on Error { message }`;

describe('password strength', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t);
  const weakAt = (r: any) => expect(r).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ field: 'password', code: 'TOO_WEAK', message: expect.stringMatching(/too easy to guess/) }] });

  it('createMailbox: a common password, and one made of the address, are refused; a strong one is taken', async () => {
    const create = (u: string, p: string) =>
      t.ok(`mutation($u:String!,$d:String!,$p:String!){ r: createMailbox(username:$u, domain:$d, password:$p){ __typename ${ERR} } }`, { u, d: tenant.domain, p }, tenant.token);
    weakAt((await create('weak1', 'Password123!')).r);
    const own = (await create('margarethamilton', 'margarethamilton99')).r;
    weakAt(own);
    expect(own.fieldErrors[0].message.length).toBeGreaterThan('This password is too easy to guess.'.length);
    expect((await create('strong1', 'Tuba-Orbit-Lantern-58')).r.__typename).toBe('MutationCreateMailboxSuccess');
  });

  it('changeMailboxPassword: the same rule (nothing changes on a refusal)', async () => {
    const m = await createMailbox(t, tenant.token, 'change', tenant.domain, 'Quiet-Harbour-Lamp-84');
    const change = (p: string) => t.ok(`mutation($id:ID!,$p:String!){ r: changeMailboxPassword(id:$id, password:$p){ __typename ${ERR} } }`, { id: m.id, p }, tenant.token);
    weakAt((await change('iloveyou1')).r);
    expect(await t.login(m.address, 'Quiet-Harbour-Lamp-84')).toBeTruthy();
    expect((await change('Velvet-Canyon-Spoon-31')).r.__typename).toBe('MutationChangeMailboxPasswordSuccess');
  });

  it('createUser and updateUser: the same rule for panel logins', async () => {
    const create = (e: string, p: string) =>
      t.ok(`mutation($e:String!,$p:String!,$c:ID){ r: createUser(email:$e, password:$p, role:CUSTOMER, customerId:$c){ __typename ... on MutationCreateUserSuccess { user { id } } ${ERR} } }`, { e, p, c: tenant.customerId }, t.adminToken);
    weakAt((await create('weak@strength.test', 'qwertyuiop')).r);
    const u = (await create('strong@strength.test', 'Maple-Rocket-Fennel-72')).r;
    expect(u.__typename).toBe('MutationCreateUserSuccess');
    const update = (p: string) => t.ok(`mutation($id:ID!,$p:String){ r: updateUser(id:$id, password:$p){ __typename ${ERR} } }`, { id: u.user.id, p }, t.adminToken);
    weakAt((await update('Summer2024!')).r);
    expect((await update('Copper-Meadow-Violin-19')).r.__typename).toBe('MutationUpdateUserSuccess');
  });
});
