// Domains › Email security in the browser: DKIM on, its record and the recommended SPF/DMARC shown
// with their DNS status (a loopback DNS server answers from dns.json, see global-setup.ts), key
// rotation, spam policy, sender lists, the quarantine's empty state, the hourly sending limit and its
// administrator override; a customer and a mailbox owner see their part.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import type { Page } from 'playwright-core';
import type { HostRecord } from '../../test/dns-server.js';
import { Api } from './api.js';
import { expectText, fieldError, launch, login, screenshot, visit, type Browser } from './browser.js';

const app = inject('app');
const CUSTOMER = { email: 'owner@secure.test', password: 'Secure-pass-1' };

let browser: Browser;
let admin: Page;
let domainId: string;

function publishDns(records: Record<string, (string[] | HostRecord)[]>) {
  writeFileSync(path.join(app.dataDir, 'dns.json'), JSON.stringify(records));
}

beforeAll(async () => {
  const api = await new Api(app.url).login(app.admin.email, app.admin.password);
  const pkg = await api.createPackage('Security test', { maxMailboxes: 5, maxEmailsPerHourDomain: 300 });
  const customer = await api.createCustomer('Secure GmbH', pkg);
  await api.createUser(CUSTOMER.email, CUSTOMER.password, customer);
  domainId = await api.createDomain('secure.test', customer);
  await api.createMailbox('boss', 'secure.test', 'Boss-pass-1', 100);
  publishDns({});
  browser = await launch(app.url);
  admin = await browser.newPage();
  await login(admin, app.admin.email, app.admin.password);
});


afterAll(async () => {
  await browser?.close();
});

/** Files a spam message into the mailbox's hidden quarantine folder, as Dovecot's spam Sieve does
 *  on a domain whose action is QUARANTINE; the worker picks it up from there. */
function fileAsSpam(localPart: string, subject: string) {
  const dir = path.join(app.dataDir, 'vmail', 'secure.test', localPart, 'quarantine', '.held', 'new');
  mkdirSync(dir, { recursive: true });
  const raw = `From: Prize Office <winner@lottery.example>\r\nTo: ${localPart}@secure.test\r\nSubject: ${subject}\r\nX-Spam-Status: Yes, score=12.5\r\nMessage-ID: <${Date.now()}@lottery.example>\r\n\r\nYou won.\r\n`;
  writeFileSync(path.join(dir, `${Date.now()}.M${Math.floor(Math.random() * 1e6)}P1.test`), raw);
}

function inbox(localPart: string): string[] {
  const base = path.join(app.dataDir, 'vmail', 'secure.test', localPart, 'Maildir');
  return ['new', 'cur'].flatMap((d) => {
    try {
      return readdirSync(path.join(base, d));
    } catch {
      return [];
    }
  });
}

function record(page: Page, label: string) {
  return page.locator(`[data-record="${label}"]`);
}

describe('Domains › Email security', () => {
  test('turns DKIM on; the record to publish appears; Check DNS reports each record', async () => {
    await visit(admin, '/domains?');
    await admin.locator('tr[data-domain="secure.test"]').getByRole('link', { name: 'Email security of secure.test' }).click();
    await admin.getByRole('heading', { name: 'Email security' }).waitFor();
    await expectText(admin.getByTestId('dkim-state'), 'Off');
    await admin.getByLabel('Algorithm').selectOption('ED25519');
    await admin.getByLabel('Selector (optional)').fill('panel1');
    await admin.getByRole('button', { name: 'Turn on DKIM' }).click();
    await expectText(admin.getByTestId('dkim-state'), 'On');
    // The worker makes the key pair; its TXT record shows up without a reload.
    const dkim = record(admin, 'DKIM (panel1)');
    await expectText(dkim, 'panel1._domainkey.secure.test', 20_000);
    await expectText(dkim, 'v=DKIM1; k=ed25519; p=');

    const spfValue = (await record(admin, 'SPF').locator('code.value').textContent())!;
    publishDns({ 'secure.test': [[spfValue]], '_dmarc.secure.test': [['v=DMARC1; p=none']] });
    await admin.waitForTimeout(300); // the DNS stand-in re-reads dns.json
    await admin.getByRole('button', { name: 'Check DNS' }).click();
    await expectText(record(admin, 'SPF').getByTestId('dns-status'), 'Published');
    await expectText(record(admin, 'DMARC').getByTestId('dns-status'), 'Different');
    await expectText(dkim.getByTestId('dns-status'), 'Missing');
    await expectText(record(admin, 'DMARC'), 'v=DMARC1; p=none');
    await screenshot(admin, '30-email-security');
  });

  test('lists MX, autoconfig, autodiscover and SRV records with copy buttons; Check DNS gives each its verdict', async () => {
    const mx = record(admin, 'MX');
    await expectText(mx.locator('code.value'), '10 mx.panel.test');
    await mx.getByRole('button', { name: 'Copy the MX record value' }).waitFor();
    await expectText(record(admin, 'Autoconfig (Thunderbird and others)'), 'autoconfig.secure.test');
    await expectText(record(admin, 'Autodiscover (Outlook)'), 'autodiscover.secure.test');
    await expectText(record(admin, 'IMAP (SRV)').locator('code.value'), '0 1 993 mx.panel.test');
    await expectText(record(admin, 'Submission (SRV)').locator('code.value'), '0 1 587 mx.panel.test');
    expect(await admin.getByTestId('no-mail-host').count()).toBe(0);

    publishDns({
      'secure.test': [{ type: 'MX', preference: 10, exchange: 'mx.panel.test' }],
      'autoconfig.secure.test': [{ type: 'CNAME', target: 'mx.panel.test' }],
      '_imaps._tcp.secure.test': [{ type: 'SRV', priority: 0, weight: 1, port: 143, target: 'mx.panel.test' }],
    });
    await admin.waitForTimeout(300); // the DNS stand-in re-reads dns.json
    await admin.getByRole('button', { name: 'Check DNS' }).click();
    await expectText(mx.getByTestId('dns-status'), 'Published');
    await expectText(record(admin, 'Autoconfig (Thunderbird and others)').getByTestId('dns-status'), 'Published');
    await expectText(record(admin, 'Autodiscover (Outlook)').getByTestId('dns-status'), 'Missing');
    await expectText(record(admin, 'IMAP (SRV)').getByTestId('dns-status'), 'Different');
    await expectText(record(admin, 'IMAP (SRV)'), '0 1 143 mx.panel.test');
    await expectText(record(admin, 'Submission (SRV)').getByTestId('dns-status'), 'Missing');
    await screenshot(admin, '31-dns-records');
  });

  test('rotates the key: the new one waits beside the old, then signs', async () => {
    await admin.getByRole('button', { name: 'Rotate key' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Rotate the DKIM key' });
    await dialog.getByLabel('New selector (optional)').fill('panel1');
    await dialog.getByRole('button', { name: 'Make new key' }).click();
    expect(await fieldError(admin, 'New selector (optional)')).toContain('already used');
    await dialog.getByLabel('New selector (optional)').fill('panel2');
    await dialog.getByRole('button', { name: 'Make new key' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expectText(admin.locator('li[data-selector="panel2"]'), 'Waiting to be activated');
    await expectText(record(admin, 'DKIM (panel2)'), 'panel2._domainkey.secure.test', 20_000);
    await admin.getByRole('button', { name: 'Activate panel2' }).click();
    await expectText(admin.locator('li[data-selector="panel2"]'), 'Signing');
    await expect.poll(() => admin.locator('li[data-selector="panel1"]').count()).toBe(0);
  });

  test('saves the spam policy and edits the sender lists', async () => {
    await admin.getByLabel('Spam score threshold').fill('7.5');
    await admin.getByRole('radio', { name: /^Quarantine/ }).check();
    await admin.getByRole('checkbox', { name: /Greylisting/ }).check();
    await admin.getByRole('button', { name: 'Save spam policy' }).click();
    await admin.getByText('Spam policy of secure.test saved').first().waitFor();
    await admin.reload();
    expect(await admin.getByLabel('Spam score threshold').inputValue()).toBe('7.5');
    expect(await admin.getByRole('radio', { name: /^Quarantine/ }).isChecked()).toBe(true);
    expect(await admin.getByRole('checkbox', { name: /Greylisting/ }).isChecked()).toBe(true);

    await admin.getByLabel('Sender or sender domain').fill('friend@example.org');
    await admin.getByRole('button', { name: 'Add' }).click();
    await expectText(admin.getByTestId('whitelist'), 'friend@example.org');
    await admin.getByLabel('Sender or sender domain').fill('friend@example.org');
    await admin.getByRole('button', { name: 'Add' }).click();
    expect(await fieldError(admin, 'Sender or sender domain')).toContain('already on the whitelist');
    await admin.getByLabel('Sender or sender domain').fill('@spam.example');
    await admin.getByLabel('List', { exact: true }).selectOption('BLACKLIST');
    await admin.getByRole('button', { name: 'Add' }).click();
    await expectText(admin.getByTestId('blacklist'), '@spam.example');
    await admin.getByRole('button', { name: 'Remove friend@example.org from the whitelist' }).click();
    await expect.poll(() => admin.getByTestId('whitelist').count()).toBe(0);
    await admin.getByText('Nothing is held').waitFor();
  });

  test('lists held spam; releases one into the inbox and deletes another', async () => {
    fileAsSpam('boss', 'You won a prize');
    fileAsSpam('boss', 'Cheap watches');
    const before = inbox('boss').length;
    // The worker picks them up within a scan; Refresh re-reads the list.
    await expect
      .poll(
        async () => {
          await admin.getByRole('button', { name: 'Refresh' }).click();
          return admin.locator('tr[data-quarantine]').count();
        },
        { timeout: 20_000, interval: 1_000 },
      )
      .toBe(2);
    const prize = admin.locator('tr[data-quarantine="You won a prize"]');
    await expectText(prize, 'winner@lottery.example');
    await expectText(prize, '12.5');
    await screenshot(admin, '31-quarantine');
    await prize.getByRole('button', { name: 'Release “You won a prize” to the inbox' }).click();
    await prize.waitFor({ state: 'detached' });
    await expect.poll(() => inbox('boss').length, { timeout: 20_000 }).toBe(before + 1);

    const watches = admin.locator('tr[data-quarantine="Cheap watches"]');
    await watches.getByRole('button', { name: 'Delete “Cheap watches”' }).click();
    await admin.getByRole('dialog', { name: 'Delete this held message?' }).getByRole('button', { name: 'Delete for good' }).click();
    await watches.waitFor({ state: 'detached' });
    await admin.getByText('Nothing is held').waitFor();
    await admin.getByLabel('Show').selectOption('RELEASED');
    await expectText(admin.locator('tr[data-quarantine="You won a prize"]'), 'released');
    await admin.getByLabel('Show').selectOption({ label: 'Held' });
  });

  test('shows mail sent this hour against the limit; an administrator overrides it', async () => {
    await expectText(admin.getByTestId('sending-usage'), '0 / 300');
    await admin.getByLabel('Override for this domain (per hour)').fill('50');
    await admin.getByRole('button', { name: 'Set', exact: true }).click();
    await expectText(admin.getByTestId('sending-usage'), '0 / 50');
    await admin.getByRole('button', { name: 'Use package limit' }).click();
    await expectText(admin.getByTestId('sending-usage'), '0 / 300');
  });

  test('the customer manages its own domain; the mailbox owner sees its held mail', async () => {
    const page = await browser.newPage();
    await login(page, CUSTOMER.email, CUSTOMER.password);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Email security' }).click();
    await expect.poll(() => page.getByLabel('Domain').locator('option').allTextContents()).toEqual(['secure.test']);
    await expectText(page.locator('li[data-selector="panel2"]'), 'Signing');
    expect(await page.getByLabel('Override for this domain (per hour)').count()).toBe(0);
    await page.close();

    const owner = await browser.newPage();
    await login(owner, 'boss@secure.test', 'Boss-pass-1');
    await owner.getByRole('heading', { name: 'Held as spam' }).waitFor();
    await owner.getByText('Nothing is held').waitFor();
    await owner.close();
    expect(domainId).toBeTruthy();
  });
});
