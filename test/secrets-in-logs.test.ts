// No password, token or key may reach the logs, even at debug level, whatever path an operation
// takes (success, validation error, wrong password, unexpected error).
import { afterAll, expect, it } from 'vitest';
import { createMailbox, createTenant, startTestApp, waitFor, ADMIN } from './harness.js';
import { freePort } from './free-port.js';

const captured: string[] = [];
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  captured.push(String(chunk));
  return true;
}) as typeof process.stderr.write;
const level = process.env.LOG_LEVEL;
process.env.LOG_LEVEL = 'debug';
afterAll(() => {
  process.stderr.write = write;
  process.env.LOG_LEVEL = level;
});

it('secrets never appear in the logs', { timeout: 60_000 }, async () => {
  const t = await startTestApp({ worker: true });
  const tenant = await createTenant(t);
  const secrets = [ADMIN.password, 'customer-pass-1', 'Mailbox-Secret-77', 'Changed-Secret-88', 'wrong-guess-99'];
  const m = await createMailbox(t, tenant.token, 'secretive', tenant.domain, 'Mailbox-Secret-77');
  await t.ok(`mutation($id:ID!){ changeMailboxPassword(id:$id, password:"Changed-Secret-88"){ __typename } }`, { id: m.id }, tenant.token);
  await t.gql(`mutation{ login(email:"${m.address}", password:"wrong-guess-99"){ __typename } }`);
  const session = (await t.ok(`mutation{ login(email:"${m.address}", password:"Changed-Secret-88"){ ... on MutationLoginSuccess { session { accessToken refreshToken } } } }`)).login.session;
  const token = (await t.ok(`mutation{ createApiToken(name:"logged?"){ ... on MutationCreateApiTokenSuccess { created { token } } } }`, {}, tenant.token)).createApiToken.created.token;
  await t.gql(`{ mailboxes { totalCount } }`, {}, token);
  await t.gql(`mutation($r:String!){ refreshSession(refreshToken:$r){ __typename } }`, { r: session.refreshToken });
  // The panel's way: the refresh token in a cookie, presented and rotated (api/src/session-cookie.ts).
  const panel = (query: string, cookie?: string) =>
    t.app.yoga.fetch('http://localhost/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-cookie': '1', ...(cookie ? { cookie: `mailpanel_refresh=${cookie}` } : {}) },
      body: JSON.stringify({ query }),
    });
  const cookieOf = (res: Response) => /^mailpanel_refresh=([^;]+)/.exec(res.headers.getSetCookie()[0] ?? '')![1]!;
  const cookie = cookieOf(await panel(`mutation{ login(email:"${m.address}", password:"Changed-Secret-88"){ __typename } }`));
  const rotated = cookieOf(await panel(`mutation{ refreshSession { __typename } }`, cookie));
  await panel(`mutation{ logout }`, rotated);
  await t.gql(`mutation{ createMailbox(username:"bad name", domain:"${tenant.domain}", password:"Mailbox-Secret-77"){ __typename } }`, {}, tenant.token);
  await t.gql(`{ nonsense }`, {}, token);
  // Bulk migration (issue 16): the CSV's source password in a dry run with errors, a broken file, and a
  // real run the worker picks up (the source is a closed port: it logs the failure).
  const port = await freePort();
  const csv = (rows: string) => `address,host,port,security,username,password\n${rows}`;
  await t.gql(`mutation($c:String!){ startBulkMigration(input:{csv:$c, dryRun:true}){ __typename } }`, { c: csv(`${m.address},127.0.0.1,${port},NONE,old@legacy.test,Bulk-Secret-55\nnobody@x.example,bad host,0,NONE,u,Bulk-Secret-55`) }, tenant.token);
  await t.gql(`mutation($c:String!){ startBulkMigration(input:{csv:$c}){ __typename } }`, { c: csv(`"${m.address},127.0.0.1,${port},NONE,u,Bulk-Secret-55`) }, tenant.token);
  const bulkMigration = (await t.ok(`mutation($c:String!){ startBulkMigration(input:{csv:$c}){ ... on MutationStartBulkMigrationSuccess { result { bulkMigration { id } } } } }`, { c: csv(`${m.address},127.0.0.1,${port},NONE,old@legacy.test,Bulk-Secret-55`) }, tenant.token)).startBulkMigration.result.bulkMigration.id;
  await waitFor(
    async () => (await t.ok(`query($id:ID!){ node(id:$id){ ... on BulkMigration { migrations(first:1){ edges { node { error { code } } } } } } }`, { id: bulkMigration }, tenant.token)).node.migrations.edges[0].node.error,
    'the worker tried the source',
  );
  secrets.push('Bulk-Secret-55');
  secrets.push(session.accessToken, session.refreshToken, cookie, rotated, token, process.env.JWT_SECRET!, process.env.ENCRYPTION_KEY!);
  // Bulk import (issue 16, bulk-import): typed and generated passwords, a refused row, the job's run.
  const bulkCsv = `address,password\nbulk-typed@${tenant.domain},Bulk-Typed-Secret-55\nbulk-gen@${tenant.domain},generate\n`;
  await t.gql(`mutation($c:String!){ importMailboxes(input:{ csv:$c, dryRun:true }){ __typename } }`, { c: `address,password\nweak@${tenant.domain},Weak-Pass\n` }, tenant.token);
  const imported = (await t.ok(`mutation($c:String!){ importMailboxes(input:{ csv:$c }){ ... on MutationImportMailboxesSuccess { result { generatedPasswordsCsv bulkImport { id } } } } }`, { c: bulkCsv }, tenant.token)).importMailboxes.result;
  await waitFor(
    async () => ['SUCCEEDED', 'FAILED'].includes((await t.ok(`query($id:ID!){ node(id:$id){ ... on BulkImport { status } } }`, { id: imported.bulkImport.id }, tenant.token)).node.status),
    'the bulk import ended',
  );
  secrets.push('Bulk-Typed-Secret-55', 'Weak-Pass', (imported.generatedPasswordsCsv as string).trim().split('\r\n')[1]!.split(',')[1]!);

  const logs = captured.join('');
  expect(logs.length).toBeGreaterThan(0); // debug logging did run
  for (const s of secrets) expect(logs.includes(s), `a secret (${s.slice(0, 4)}…) is in the logs`).toBe(false);
  // Password hashes are secrets too.
  expect(logs).not.toMatch(/\$argon2id\$/);
});
