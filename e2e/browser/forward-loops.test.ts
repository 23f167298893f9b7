// Forwards › loops in the browser (issue 12, item 1): a loop the API could not refuse — deleting a
// mailbox made its address fall to the catch-all — is shown as a warning above the forwards list;
// editing a forward of it to another loop is refused next to the field, naming the loop; a real
// fix makes the warning go away. The customer sees the same warning on their own screen.
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import { Api } from './api.js';
import { expectText, fieldError, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const CUSTOMER = { email: 'owner@loops.test', password: 'Loops-pass-1' };
const D = 'loops.test';

let browser: Browser;
let page: Page;

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Loops test', { maxMailboxes: 5, maxForwards: 5 });
  const customer = await api.createCustomer('Loops GmbH', pkg);
  await api.createUser(CUSTOMER.email, CUSTOMER.password, customer);
  await api.createDomain(D, customer);
  const box = await api.createMailbox('desk', D, 'Desk-pass-1', 100);
  await api.createForward(`relay@${D}`, [`desk@${D}`]);
  await api.createForward(`*@${D}`, [`relay@${D}`]);
  // Allowed (stopping mail must always work), and now desk@ falls to the catch-all: a loop.
  await api.ok(`mutation($id: ID!) { deleteMailbox(id: $id) { __typename ... on Error { message } } }`, { id: box.id });
  browser = await launch(app.url);
  page = await browser.newPage();
  await login(page, CUSTOMER.email, CUSTOMER.password);
});


afterAll(async () => {
  await browser?.close();
});

test('the forwards screen warns about a loop and offers its forwards for editing', async () => {
  await visit(page, '/forwards');
  const warning = page.getByRole('region', { name: 'A forwarding loop' });
  await expectText(warning, `*@${D} → relay@${D} → desk@${D} → *@${D}`);
  await expectText(warning, 'returns it to the sender (5.4.6)');
  await screenshot(page, '30-forward-loop-warning');
});

test('an edit that would loop again is refused next to the field; a real fix clears the warning', async () => {
  const warning = page.getByRole('region', { name: 'A forwarding loop' });
  await warning.getByRole('button', { name: `Edit forward relay@${D}` }).click();
  const dialog = page.getByRole('dialog', { name: `Edit forward relay@${D}` });
  const input = dialog.getByLabel('Destinations');
  expect(await input.inputValue()).toBe(`desk@${D}`);
  // An unknown address of the same domain is the catch-all's again.
  await input.fill(`nobody@${D}`);
  await dialog.getByRole('button', { name: 'Save forward' }).click();
  expect(await fieldError(page, 'Destinations')).toBe(`Mail would go round in a loop: relay@${D} → nobody@${D} → *@${D} → relay@${D}`);
  await screenshot(page, '31-forward-loop-refused');

  await input.fill('desk@elsewhere.example');
  await dialog.getByRole('button', { name: 'Save forward' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await warning.waitFor({ state: 'detached' });
  await expectText(page.locator(`tr[data-source="relay@${D}"]`), 'desk@elsewhere.example');
});
