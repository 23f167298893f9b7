// Two-factor logins through the real API on the real PostgreSQL: enrolment (a code before it counts),
// login with a code, recovery codes that work once, wrong codes counted by the login throttle, codes
// never accepted twice, an administrator's reset, and enforced enrolment for everyone or a customer.
import { describe, expect, it } from 'vitest';

process.env.LOGIN_MAX_FAILURES_PER_ACCOUNT = '5';
const { createMailbox, createTenant, startTestApp } = await import('../../test/harness.js');
const { currentCode } = await import('../src/auth/two-factor.js');

const SESSION = `... on MutationLoginSuccess { session { accessToken refreshToken viewer { label } } }`;
const LOGIN = `mutation($e:String!,$p:String!){ r: login(email:$e,password:$p){ __typename ${SESSION}
  ... on SecondFactorRequired { challenge expiresAt } ... on TwoFactorEnrolmentRequired { challenge expiresAt }
  ... on TooManyAttemptsError { retryAfterSeconds } ... on Error { message } } }`;
const COMPLETE = `mutation($c:String!,$k:String!){ r: completeLogin(challenge:$c, code:$k){ __typename
  ... on MutationCompleteLoginSuccess { session { accessToken viewer { label } } } ... on TooManyAttemptsError { retryAfterSeconds } ... on Error { message } } }`;
const START = `mutation($c:String){ r: startTwoFactorEnrolment(challenge:$c){ __typename
  ... on MutationStartTwoFactorEnrolmentSuccess { enrolment { secret otpauthUri } } ... on ValidationError { fieldErrors { field code } } ... on Error { message } } }`;
const CONFIRM = `mutation($k:String!,$c:String){ r: confirmTwoFactorEnrolment(code:$k, challenge:$c){ __typename
  ... on MutationConfirmTwoFactorEnrolmentSuccess { enabled { recoveryCodes session { accessToken } } }
  ... on ValidationError { fieldErrors { field code message } } ... on Error { message } } }`;
const STATUS = `{ viewer { twoFactor { enabled enabledAt recoveryCodesLeft required } } }`;
const DISABLE = `mutation($k:String!){ r: disableTwoFactor(code:$k){ __typename ... on MutationDisableTwoFactorSuccess { disabled } ... on ValidationError { fieldErrors { field code } } } }`;
const RESET = `mutation($id:ID!){ r: resetTwoFactor(id:$id){ __typename ... on MutationResetTwoFactorSuccess { resetId } ... on Error { message } } }`;
const REQUIRE = `mutation($r:Boolean!,$c:ID){ r: setTwoFactorRequirement(required:$r, customerId:$c){ __typename ... on MutationSetTwoFactorRequirementSuccess { settings { requireTwoFactor } } ... on Error { message } } }`;

/** A code for a step that is not the current one (the current may already be used up). */
const codeAt = (secret: string, stepOffset: number) => currentCode(secret, Date.now() + stepOffset * 30_000);

describe('two-factor login', async () => {
  const t = await startTestApp();
  const tenant = await createTenant(t);
  const audit = async (action: string, label: string) =>
    (await t.ok(`query($f:AuditEventFilter){ auditEvents(filter:$f){ totalCount } }`, { f: { action, search: label } }, t.adminToken)).auditEvents.totalCount;

  async function enrol(token: string) {
    const start = (await t.ok(START, {}, token)).r;
    expect(start.__typename).toBe('MutationStartTwoFactorEnrolmentSuccess');
    const { secret, otpauthUri } = start.enrolment;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/Mail%20panel:.+\?.*secret=[A-Z2-7]{32}/);
    return secret as string;
  }

  it('enrols only with a valid code; then a login needs the code, and a code works once', async () => {
    const m = await createMailbox(t, tenant.token, 'twofa', tenant.domain, 'Amber-Falcon-Quill-61');
    const token = await t.login(m.address, 'Amber-Falcon-Quill-61');
    const secret = await enrol(token);

    // Not in force before it is confirmed: the password alone still logs in.
    expect((await t.ok(STATUS, {}, token)).viewer.twoFactor).toMatchObject({ enabled: false, recoveryCodesLeft: 0 });
    expect((await t.ok(LOGIN, { e: m.address, p: 'Amber-Falcon-Quill-61' })).r.__typename).toBe('MutationLoginSuccess');
    expect((await t.ok(CONFIRM, { k: '000000' }, token)).r).toMatchObject({ fieldErrors: [{ field: 'code', code: 'WRONG_CODE' }] });
    const confirmed = (await t.ok(CONFIRM, { k: currentCode(secret) }, token)).r;
    expect(confirmed.__typename).toBe('MutationConfirmTwoFactorEnrolmentSuccess');
    const codes: string[] = confirmed.enabled.recoveryCodes;
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    expect(confirmed.enabled.session).toBeNull();
    expect((await t.ok(STATUS, {}, token)).viewer.twoFactor).toMatchObject({ enabled: true, recoveryCodesLeft: 10, required: false });
    // The secret is never shown again.
    expect((await t.ok(START, {}, token)).r).toMatchObject({ fieldErrors: [{ field: 'code', code: 'ALREADY_ENABLED' }] });

    const step = (await t.ok(LOGIN, { e: m.address, p: 'Amber-Falcon-Quill-61' })).r;
    expect(step.__typename).toBe('SecondFactorRequired');
    expect(new Date(step.expiresAt).getTime()).toBeGreaterThan(Date.now());
    // The challenge is not an access token.
    const asToken = await t.gql(`{ viewer { label } }`, {}, step.challenge);
    expect(asToken.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const code = codeAt(secret, 1);
    const done = (await t.ok(COMPLETE, { c: step.challenge, k: code })).r;
    expect(done).toMatchObject({ __typename: 'MutationCompleteLoginSuccess', session: { viewer: { label: m.address } } });
    // The same code again (a replay, or a second request racing the first) is refused.
    const again = (await t.ok(LOGIN, { e: m.address, p: 'Amber-Falcon-Quill-61' })).r;
    expect((await t.ok(COMPLETE, { c: again.challenge, k: code })).r.__typename).toBe('AuthenticationError');

    // A recovery code works once, and is counted down.
    const recovered = (await t.ok(COMPLETE, { c: again.challenge, k: codes[3]!.toUpperCase() })).r;
    expect(recovered.__typename).toBe('MutationCompleteLoginSuccess');
    expect((await t.ok(COMPLETE, { c: again.challenge, k: codes[3] })).r.__typename).toBe('AuthenticationError');
    expect((await t.ok(STATUS, {}, recovered.session.accessToken)).viewer.twoFactor.recoveryCodesLeft).toBe(9);
    expect(await audit('two_factor.recovery_code_used', m.address)).toBe(1);
    expect(await audit('two_factor.enable', m.address)).toBe(1);
  });

  it('two requests with the same code at once: exactly one logs in', async () => {
    const m = await createMailbox(t, tenant.token, 'twofa-race', tenant.domain, 'Brisk-Otter-Lantern-27');
    const token = await t.login(m.address, 'Brisk-Otter-Lantern-27');
    const secret = await enrol(token);
    await t.ok(CONFIRM, { k: currentCode(secret) }, token);
    const c1 = (await t.ok(LOGIN, { e: m.address, p: 'Brisk-Otter-Lantern-27' })).r.challenge;
    const c2 = (await t.ok(LOGIN, { e: m.address, p: 'Brisk-Otter-Lantern-27' })).r.challenge;
    const code = codeAt(secret, 1);
    const both = await Promise.all([t.ok(COMPLETE, { c: c1, k: code }), t.ok(COMPLETE, { c: c2, k: code })]);
    expect(both.map((b) => b.r.__typename).sort()).toEqual(['AuthenticationError', 'MutationCompleteLoginSuccess']);
  });

  it('wrong codes count toward the login throttle; the password step does not reset it', async () => {
    const m = await createMailbox(t, tenant.token, 'twofa-guess', tenant.domain, 'Cobalt-Meadow-Spire-45');
    const token = await t.login(m.address, 'Cobalt-Meadow-Spire-45');
    const secret = await enrol(token);
    await t.ok(CONFIRM, { k: currentCode(secret) }, token);
    const kinds: string[] = [];
    for (let i = 0; i < 7; i++) {
      // A fresh password step each time: it must not forgive the wrong codes before it.
      const step = (await t.ok(LOGIN, { e: m.address, p: 'Cobalt-Meadow-Spire-45' })).r;
      if (step.__typename !== 'SecondFactorRequired') {
        kinds.push(step.__typename);
        continue;
      }
      kinds.push((await t.ok(COMPLETE, { c: step.challenge, k: String(100000 + i) })).r.__typename);
    }
    expect(kinds.slice(0, 5)).toEqual(Array(5).fill('AuthenticationError'));
    expect(kinds.slice(5)).toEqual(['TooManyAttemptsError', 'TooManyAttemptsError']);
    expect(await audit('session.login_failed', m.address)).toBeGreaterThanOrEqual(5);
  });

  it('an enrolment challenge cannot complete a login, nor a login challenge enrol; a forged one is refused', async () => {
    const m = await createMailbox(t, tenant.token, 'twofa-mix', tenant.domain, 'Dusty-Harp-Glacier-83');
    const token = await t.login(m.address, 'Dusty-Harp-Glacier-83');
    const secret = await enrol(token);
    await t.ok(CONFIRM, { k: currentCode(secret) }, token);
    const step = (await t.ok(LOGIN, { e: m.address, p: 'Dusty-Harp-Glacier-83' })).r;
    expect((await t.ok(START, { c: step.challenge })).r.__typename).toBe('AuthenticationError');
    expect((await t.ok(COMPLETE, { c: 'eyJhbGciOiJIUzI1NiJ9.e30.x', k: codeAt(secret, 1) })).r.__typename).toBe('AuthenticationError');
    // An access token is not a challenge either.
    expect((await t.ok(COMPLETE, { c: token, k: codeAt(secret, 1) })).r.__typename).toBe('AuthenticationError');
  });

  it('turning it off needs a code; an administrator resets a lost one (audited)', async () => {
    const m = await createMailbox(t, tenant.token, 'twofa-off', tenant.domain, 'Ember-Pylon-Willow-12');
    const token = await t.login(m.address, 'Ember-Pylon-Willow-12');
    const secret = await enrol(token);
    await t.ok(CONFIRM, { k: currentCode(secret) }, token);
    expect((await t.ok(DISABLE, { k: '123456' }, token)).r).toMatchObject({ fieldErrors: [{ field: 'code', code: 'WRONG_CODE' }] });
    expect((await t.ok(DISABLE, { k: codeAt(secret, 1) }, token)).r).toMatchObject({ disabled: true });
    expect((await t.ok(LOGIN, { e: m.address, p: 'Ember-Pylon-Willow-12' })).r.__typename).toBe('MutationLoginSuccess');

    const again = await enrol(token);
    await t.ok(CONFIRM, { k: codeAt(again, 0) }, token);
    // Not for a customer to do: the reset is the administrators'.
    expect((await t.gql(RESET, { id: m.id }, tenant.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await t.ok(RESET, { id: m.id }, t.adminToken)).r).toMatchObject({ resetId: m.id });
    expect((await t.ok(LOGIN, { e: m.address, p: 'Ember-Pylon-Willow-12' })).r.__typename).toBe('MutationLoginSuccess');
    expect((await t.ok(RESET, { id: m.id }, t.adminToken)).r.__typename).toBe('ValidationError');
    expect(await audit('two_factor.reset', m.address)).toBe(1);
    expect(await audit('two_factor.disable', m.address)).toBe(1);
  });

  it('required for a customer: its people enrol at their next login and then get in; others do not have to', async () => {
    const other = await createTenant(t);
    const required = await createTenant(t);
    expect((await t.ok(REQUIRE, { r: true, c: required.customerId }, t.adminToken)).r.__typename).toBe('MutationSetTwoFactorRequirementSuccess');
    expect((await t.ok(LOGIN, { e: other.email, p: 'customer-pass-1' })).r.__typename).toBe('MutationLoginSuccess');

    const step = (await t.ok(LOGIN, { e: required.email, p: 'customer-pass-1' })).r;
    expect(step.__typename).toBe('TwoFactorEnrolmentRequired');
    // The enrolment challenge opens nothing but the enrolment.
    expect((await t.gql(`{ viewer { label } }`, {}, step.challenge)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const { secret } = (await t.ok(START, { c: step.challenge })).r.enrolment;
    expect((await t.ok(CONFIRM, { k: '000000', c: step.challenge })).r).toMatchObject({ fieldErrors: [{ code: 'WRONG_CODE' }] });
    const enabled = (await t.ok(CONFIRM, { k: currentCode(secret), c: step.challenge })).r.enabled;
    expect(enabled.recoveryCodes).toHaveLength(10);
    expect(enabled.session.accessToken).toBeTruthy();
    expect((await t.ok(STATUS, {}, enabled.session.accessToken)).viewer.twoFactor).toMatchObject({ enabled: true, required: true });
    // Required: it cannot be turned off by its owner.
    expect((await t.ok(DISABLE, { k: codeAt(secret, 1) }, enabled.session.accessToken)).r).toMatchObject({ fieldErrors: [{ code: 'REQUIRED' }] });
    // From now on the login asks for the code.
    expect((await t.ok(LOGIN, { e: required.email, p: 'customer-pass-1' })).r.__typename).toBe('SecondFactorRequired');
    await t.ok(REQUIRE, { r: false, c: required.customerId }, t.adminToken);
  });

  it('required for everyone, the administrators included; switched off again', async () => {
    expect((await t.ok(REQUIRE, { r: true }, t.adminToken)).r.settings).toEqual({ requireTwoFactor: true });
    try {
      const tenant2 = await createTenant(t).catch((e) => e);
      // createTenant logs the customer in: with the requirement that login stops at enrolment.
      expect(String(tenant2)).toMatch(/login failed|TwoFactorEnrolmentRequired|set it up/);
      const { ADMIN } = await import('../../test/harness.js');
      expect((await t.ok(LOGIN, { e: ADMIN.email, p: ADMIN.password })).r.__typename).toBe('TwoFactorEnrolmentRequired');
    } finally {
      expect((await t.ok(REQUIRE, { r: false }, t.adminToken)).r.settings).toEqual({ requireTwoFactor: false });
    }
    expect(await audit('two_factor.requirement', 'every panel login')).toBe(2);
  });

  it('an API token cannot enrol or turn off a person’s second factor', async () => {
    const created = await t.ok(
      `mutation{ createApiToken(name:"2fa"){ ... on MutationCreateApiTokenSuccess { created { token } } } }`,
      {},
      tenant.token,
    );
    const apiToken = created.createApiToken.created.token;
    expect((await t.ok(START, {}, apiToken)).r.__typename).toBe('AuthenticationError');
    expect((await t.ok(STATUS, {}, apiToken)).viewer.twoFactor).toBeNull();
  });
});
