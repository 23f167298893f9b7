// SIGTERM lets in-flight requests and jobs finish (or hand the job back to the queue), then the
// process exits 0. Runs the real launcher as a child process against this file's database.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import pg from 'pg';

it('SIGTERM: in-flight requests complete, jobs finish or are handed back, exit code 0', { timeout: 90_000 }, async () => {
  // Run from the data folder, not the checkout: the launcher then serves no web/build, which
  // test/start-process.test.ts rebuilds (`npm start`) while this file may be running.
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, path.resolve('scripts/start.ts')], {
    cwd: process.env.DATA_DIR,
    env: { ...process.env, PORT: '0', ADMIN_EMAIL: 'admin@shutdown.test', ADMIN_PASSWORD: 'shutdown-pass-1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = /GraphQL API: (http:\/\/\S+)\/graphql/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
  const gql = async (query: string, token?: string) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const login = `mutation{ login(email:"admin@shutdown.test", password:"shutdown-pass-1"){ __typename ... on MutationLoginSuccess { session { accessToken } } } }`;
  const admin = (await gql(login)).body.data.login.session.accessToken as string;
  const pkg = (await gql(`mutation{ createHostingPackage(input:{name:"p"}){ ... on MutationCreateHostingPackageSuccess { hostingPackage { id } } } }`, admin)).body.data.createHostingPackage.hostingPackage.id;
  const cust = (await gql(`mutation{ createCustomer(name:"c", packageId:"${pkg}"){ ... on MutationCreateCustomerSuccess { customer { id } } } }`, admin)).body.data.createCustomer.customer.id;
  await gql(`mutation{ createDomain(name:"shutdown.test", customerId:"${cust}"){ __typename } }`, admin);

  // Requests that take a while (argon2) and a job, all in flight when SIGTERM arrives.
  const inflight = [
    ...Array.from({ length: 4 }, () => gql(login)),
    gql(`mutation{ createMailbox(username:"late", domain:"shutdown.test", password:"late-pass-12"){ __typename } }`, admin),
  ];
  await new Promise((r) => setTimeout(r, 30));
  child.kill('SIGTERM');
  const settled = await Promise.allSettled(inflight);
  const t1 = Date.now();
  const answers = settled.map((s, i) => { if (s.status === 'rejected') throw new Error(`request ${i} failed after ${Date.now() - t1}: ${s.reason?.cause?.code} :: ${out}`); return s.value; });
  expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
  expect(answers.slice(0, 4).map((a) => a.body.data.login.__typename)).toEqual(Array(4).fill('MutationLoginSuccess'));
  expect(answers[4]!.body.data.createMailbox.__typename).toBe('MutationCreateMailboxSuccess');

  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code, out).toBe(0);
  // The provisioning job either ran to the end or is back in the queue for the next worker — never lost.
  const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  const mailbox = (await c.query(`SELECT provisioning FROM mailboxes WHERE address = 'late@shutdown.test'`)).rows[0];
  const job = (await c.query(`SELECT state FROM pgboss.job WHERE name = 'provision-mailbox' ORDER BY created_on DESC LIMIT 1`)).rows[0];
  await c.end();
  expect(mailbox.provisioning === 'READY' ? job.state === 'completed' : ['created', 'retry'].includes(job.state)).toBe(true);
});
