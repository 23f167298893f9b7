// The copier's pure logic: folder mapping, dedupe keys, checkpoints, error classes, Maildir names,
// modified UTF-7 and the IMAP response reader. No daemon, no database.
import { describe, expect, it } from 'vitest';
import { planFolders, relativeSegments, roleOfName, sanitizeSegment, type SourceFolder } from '@mailpanel/core/migration/folder-mapping';
import { KeyCounter, dedupeKey, headerBlock, normalizeMessageId, parseHeaders } from '@mailpanel/core/migration/dedupe';
import { UidCheckpoint, planFolderRun, rateAndEta } from '@mailpanel/core/migration/checkpoint';
import {
  MigrationError,
  SourceAuthenticationError,
  SourceServerError,
  SourceTimeoutError,
  SourceTlsError,
  SourceUnreachableError,
  TargetError,
  TargetOverQuotaError,
  classifyError,
  scrub,
} from '@mailpanel/core/migration/errors';
import { decodeMutf7, encodeMutf7 } from '../src/migration/mutf7.js';
import { lastAttemptAt, maxAttempts, retryDelaySeconds, schedule } from '@mailpanel/core/migration/retry-schedule';
import {
  flagsToInfo,
  folderDirName,
  folderNameOfDir,
  formatKeywordsFile,
  formatSubscriptions,
  infoToFlags,
  parseFileName,
  parseKeywordsFile,
  parseSubscriptions,
  toStoredForm,
  uniqueFileName,
} from '../src/migration/maildir-format.js';
import { ResponseReader, appendableFlags, fetchItems, formatInternalDate, parseInternalDate, quoteString, responseCode, tokenize } from '../src/migration/imap-protocol.js';
import { uidSet } from '@mailpanel/core/migration/source-imap';
import { imapcName } from '../src/migration/doveadm-import.js';
import { isPrivateAddress, validHostSyntax } from '@mailpanel/core/migration/source-address';

const f = (path: string, delimiter: string | null = '/', flags: string[] = [], specialUse: string | null = null): SourceFolder => ({ path, delimiter, flags, specialUse });
const map = (plans: ReturnType<typeof planFolders>) => Object.fromEntries(plans.map((p) => [p.sourcePath, p.targetName]));

describe('folder mapping', () => {
  it('maps special-use folders by their attribute, whatever they are called', () => {
    const plans = planFolders([
      f('INBOX'),
      f('Sent Messages', '.', ['\\HasNoChildren', '\\Sent'], '\\Sent'),
      f('Deleted Messages', '.', [], '\\Trash'),
      f('Brouillons', '.', [], '\\Drafts'),
      f('Pourriel', '.', ['\\Junk']),
      f('Alt', '.', [], '\\Archive'),
    ]);
    // The panel has no \\Archive folder: "Alt" keeps its name.
    expect(map(plans)).toEqual({ INBOX: 'INBOX', 'Sent Messages': 'Sent', 'Deleted Messages': 'Trash', Brouillons: 'Drafts', Pourriel: 'Junk', Alt: 'Alt' });
    expect(map(planFolders([f('Archiv', '/', [], '\\Archive')], { target: [{ name: 'Archive', specialUse: '\\Archive' }] }))).toEqual({ Archiv: 'Archive' });
    expect(plans.find((p) => p.sourcePath === 'Sent Messages')!.specialUse).toBe('\\Sent');
  });

  it('uses the target folder that has the role, when the target names it differently', () => {
    const plans = planFolders([f('Sent', '/', [], '\\Sent'), f('Spam')], { target: [{ name: 'Gesendet', specialUse: '\\Sent' }, { name: 'Unerwünscht', specialUse: '\\Junk' }] });
    // The source flags roles, so "Spam" (no flag) is just a folder.
    expect(map(plans)).toEqual({ Sent: 'Gesendet', Spam: 'Spam' });
    expect(map(planFolders([f('Spam')], { target: [{ name: 'Unerwünscht', specialUse: '\\Junk' }] }))).toEqual({ Spam: 'Unerwünscht' });
  });

  it('recognises role folders by well-known names when the server announces no SPECIAL-USE', () => {
    expect(map(planFolders([f('Sent Items'), f('Gelöschte Elemente'), f('Entwürfe'), f('Junk E-mail'), f('Spam'), f('[Gmail]/Sent Mail'), f('Archiv')]))).toEqual({
      'Sent Items': 'Sent',
      'Gelöschte Elemente': 'Trash',
      Entwürfe: 'Drafts',
      'Junk E-mail': 'Junk',
      // One folder per role: the second junk and sent folders keep their names.
      Spam: 'Spam',
      '[Gmail]/Sent Mail': '[Gmail]/Sent Mail',
      Archiv: 'Archiv',
    });
    // Only at the top level: a project folder called "Sent" is just a folder.
    expect(roleOfName(['Projects', 'Sent'])).toBeNull();
    expect(map(planFolders([f('Projects/Sent'), f('Bulk')]))).toEqual({ 'Projects/Sent': 'Projects/Sent', Bulk: 'Bulk' });
  });

  it('on a source that flags roles, names make no role, and two folders are never merged', () => {
    const plans = planFolders([f('Sent Messages', '.', [], '\\Sent'), f('Sent', '.'), f('Entwürfe', '.'), f('Drafts-alt', '.', [], '\\Drafts')]);
    expect(map(plans)).toEqual({ 'Sent Messages': 'Sent', Sent: 'Sent (2)', Entwürfe: 'Entwürfe', 'Drafts-alt': 'Drafts' });
    expect(new Set(plans.map((p) => p.targetName)).size).toBe(plans.length);
  });

  it('per-folder overrides win, without merging', () => {
    const plans = planFolders([f('INBOX'), f('Alt', '.'), f('Sent Messages', '.', [], '\\Sent')], { overrides: { Alt: 'Archive/Old', 'Sent Messages': 'Gesendet alt' } });
    expect(map(plans)).toEqual({ INBOX: 'INBOX', Alt: 'Archive/Old', 'Sent Messages': 'Gesendet alt' });
    expect(map(planFolders([f('A', '.'), f('B', '.')], { overrides: { B: 'A' } }))).toEqual({ A: 'A', B: 'B' });
  });

  it('converts the source separator and strips the personal namespace prefix (Courier/Cyrus "INBOX.")', () => {
    const plans = planFolders([f('INBOX', '.'), f('INBOX.Archive', '.'), f('INBOX.Archive.2024', '.'), f('INBOX.Sent', '.', ['\\Sent'])], { personalPrefix: 'INBOX.' });
    expect(map(plans)).toEqual({ INBOX: 'INBOX', 'INBOX.Archive': 'Archive', 'INBOX.Archive.2024': 'Archive/2024', 'INBOX.Sent': 'Sent' });
    expect(relativeSegments('INBOX.a.b', '.', 'INBOX.')).toEqual(['a', 'b']);
    expect(relativeSegments('Work/2024', '/', '')).toEqual(['Work', '2024']);
  });

  it('children of a renamed role folder follow it', () => {
    expect(map(planFolders([f('Sent Items', '.', [], '\\Sent'), f('Sent Items.2019', '.'), f('Sent Items.2019.Q1', '.')]))).toEqual({
      'Sent Items': 'Sent',
      'Sent Items.2019': 'Sent/2019',
      'Sent Items.2019.Q1': 'Sent/2019/Q1',
    });
  });

  it('skips \\Noselect containers and does not copy virtual folders (Gmail All Mail, Starred)', () => {
    const plans = planFolders([f('[Gmail]', '/', ['\\Noselect', '\\HasChildren']), f('[Gmail]/All Mail', '/', ['\\All']), f('[Gmail]/Starred', '/', [], '\\Flagged'), f('Archive', '.', ['\\NonExistent'])]);
    expect(plans.map((p) => [p.sourcePath, p.copy])).toEqual([
      ['[Gmail]/All Mail', false],
      ['[Gmail]/Starred', false],
    ]);
    expect(plans[0]!.skipReason).toMatch(/virtual/i);
  });

  it('keeps names exactly ("." and spaces inside a name included); only a "/" inside a segment, control characters and empty segments change', () => {
    expect(sanitizeSegment('a/b')).toBe('a_b');
    expect(sanitizeSegment('v1.2')).toBe('v1.2');
    expect(sanitizeSegment(' Leerzeichen ')).toBe(' Leerzeichen ');
    expect(map(planFolders([f('Kunden/v1.2 final', '/')]))).toEqual({ 'Kunden/v1.2 final': 'Kunden/v1.2 final' });
    expect(sanitizeSegment('')).toBe('_');
    expect(sanitizeSegment('x\u0001y')).toBe('xy');
    expect(map(planFolders([f('Kunden.A/B GmbH', '.'), f('Reisen..2024', '.')]))).toEqual({ 'Kunden.A/B GmbH': 'Kunden/A_B GmbH', 'Reisen..2024': 'Reisen/_/2024' });
  });

  it('keeps INBOX children under INBOX and orders INBOX, then role folders, then the rest', () => {
    const plans = planFolders([f('Zeta'), f('INBOX/Sub'), f('Trash', '/', [], '\\Trash'), f('inbox'), f('Alpha')]);
    expect(plans.map((p) => p.targetName)).toEqual(['INBOX', 'Trash', 'Alpha', 'INBOX/Sub', 'Zeta']);
  });

  it('doveadm import names: the source name as imapc lists it, only when doveadm lands it in the planned folder', () => {
    // A "."-separated source: imapc lists "Archive.2024"; doveadm creates "Archive/2024" in the target.
    expect(imapcName('Archive.2024', '.', '', 'Archive/2024')).toBe('Archive.2024');
    expect(imapcName('Archive.2024.Q1', '.', '', 'Archive/2024/Q1')).toBe('Archive.2024.Q1');
    expect(imapcName('Archive/2024', '/', '', 'Archive/2024')).toBe('Archive/2024');
    expect(imapcName('Sent Messages', '.', '', 'Sent')).toBeNull();
    expect(imapcName('INBOX.Archive', '.', 'INBOX.', 'Archive')).toBeNull();
    expect(imapcName('A/B.C', '.', '', 'A/B/C')).toBeNull();
  });
});

describe('retry schedule', () => {
  it('the last attempt starts after every remaining pause: the time the panel says it gives up', () => {
    const p = { retries: 6, baseSeconds: 10 };
    const next = new Date('2030-01-01T00:00:00Z');
    // Attempt 1 failed; attempt 2 at `next`, then pauses 20, 40, 80, 160, 320 before attempts 3..7.
    expect(lastAttemptAt(p, 1, next).getTime() - next.getTime()).toBe((20 + 40 + 80 + 160 + 320) * 1000);
    // Attempt 6 failed: the next (7) is the last.
    expect(lastAttemptAt(p, 6, next)).toEqual(next);
    // A row allowed fewer attempts (a run started under another setting) ends sooner.
    expect(lastAttemptAt(p, 1, next, 3).getTime() - next.getTime()).toBe(20_000);
  });

  it('as documented: 6 retries after 10 s doubling (7 attempts, about 10½ minutes), then none', () => {
    const p = { retries: 6, baseSeconds: 10 };
    expect(schedule(p)).toEqual([10, 20, 40, 80, 160, 320]);
    expect(maxAttempts(p)).toBe(7);
    expect(retryDelaySeconds(p, 7)).toBeNull();
    expect(retryDelaySeconds(p, 1)).toBe(10);
    // The attempts a run was started with count, not today's setting.
    expect(retryDelaySeconds(p, 3, 3)).toBeNull();
  });
});

describe('dedupe keys', () => {
  const msg = (headers: string, body = 'body') => Buffer.from(`${headers}\r\n\r\n${body}\r\n`);

  it('uses the Message-ID, normalised, whatever the folding or line endings', () => {
    const a = parseHeaders(headerBlock(msg('Subject: x\r\nMessage-ID:\r\n  <abc@example.test>')));
    const b = parseHeaders('message-id: <abc@example.test>\n\n');
    expect(dedupeKey({ headers: a, size: 10 })).toBe('m:abc@example.test');
    expect(dedupeKey({ headers: b, size: 999 })).toBe('m:abc@example.test');
    expect(normalizeMessageId('  <x@y>  (comment)')).toBe('x@y');
    expect(normalizeMessageId('bare@id')).toBe('bare@id');
    expect(normalizeMessageId('   ')).toBeNull();
  });

  it('without a Message-ID: date + size + a hash of the main headers', () => {
    const h = (s: string) => parseHeaders(s + '\n\n');
    const base = 'From: a@x\nTo: b@y\nSubject: Hello\nDate: Mon, 1 Jan 2024 10:00:00 +0000';
    const k1 = dedupeKey({ headers: h(base), size: 100 });
    expect(k1).toMatch(/^h:Mon, 1 Jan 2024 10:00:00 \+0000\|100\|[0-9a-f]{32}$/);
    expect(dedupeKey({ headers: h(base.replace('Subject: Hello', 'Subject:\n Hello')), size: 100 })).toBe(k1);
    expect(dedupeKey({ headers: h(base), size: 101 })).not.toBe(k1);
    expect(dedupeKey({ headers: h(base.replace('Hello', 'Hello2')), size: 100 })).not.toBe(k1);
    // No Date header: the internal date (to the second) stands in.
    const noDate = h('From: a@x\nSubject: s');
    expect(dedupeKey({ headers: noDate, size: 5, internalDate: new Date('2024-01-01T00:00:00.700Z') })).toBe(dedupeKey({ headers: noDate, size: 5, internalDate: new Date('2024-01-01T00:00:00.100Z') }));
  });

  it('header parsing: first occurrence wins, the body is ignored, 8-bit bytes survive', () => {
    const raw = Buffer.concat([Buffer.from('Subject: caf'), Buffer.from([0xc3, 0xa9]), Buffer.from('\r\nMessage-ID: <1@a>\r\nMessage-ID: <2@a>\r\n\r\nMessage-ID: <body@a>\r\n')]);
    const h = parseHeaders(headerBlock(raw));
    expect(h.get('message-id')).toEqual(['<1@a>', '<2@a>']);
    expect(dedupeKey({ headers: h, size: 1 })).toBe('m:1@a');
    expect(Buffer.from(h.get('subject')![0]!, 'latin1').toString('utf8')).toBe('café');
  });

  it('KeyCounter counts copies: two source copies of one message need two target copies', () => {
    const k = new KeyCounter();
    k.add('a');
    k.add('a');
    k.add('b');
    expect(k.size).toBe(3);
    expect(k.take('a')).toBe(true);
    expect(k.take('a')).toBe(true);
    expect(k.take('a')).toBe(false);
    expect(k.count('b')).toBe(1);
    expect(k.size).toBe(1);
  });
});

describe('checkpoints', () => {
  it('plans a folder run from the stored checkpoint', () => {
    expect(planFolderRun({ uidValidity: null, lastUid: 0n }, { uidValidity: 7n, uidNext: 11, exists: 10 })).toEqual({ reset: false, fromUid: 1, upToDate: false });
    expect(planFolderRun({ uidValidity: 7n, lastUid: 10n }, { uidValidity: 7n, uidNext: 11, exists: 10 })).toEqual({ reset: false, fromUid: 11, upToDate: true });
    expect(planFolderRun({ uidValidity: 7n, lastUid: 10n }, { uidValidity: 7n, uidNext: 15, exists: 12 })).toEqual({ reset: false, fromUid: 11, upToDate: false });
    // UIDVALIDITY changed: the old UIDs mean nothing, start again (dedupe prevents copies).
    expect(planFolderRun({ uidValidity: 7n, lastUid: 10n }, { uidValidity: 8n, uidNext: 11, exists: 10 })).toEqual({ reset: true, fromUid: 1, upToDate: false });
    // Empty folder, or unknown UIDNEXT.
    expect(planFolderRun({ uidValidity: null, lastUid: 0n }, { uidValidity: 1n, uidNext: 5, exists: 0 }).upToDate).toBe(true);
    expect(planFolderRun({ uidValidity: 1n, lastUid: 4n }, { uidValidity: 1n, uidNext: null, exists: 4 }).upToDate).toBe(false);
  });

  it('moves only over a contiguous run of finished UIDs', () => {
    const c = new UidCheckpoint(10);
    c.expect([11, 12, 15, 20]);
    expect(c.finish([12])).toBe(10); // 11 still in flight
    expect(c.finish([11])).toBe(12);
    expect(c.finish([20])).toBe(12);
    expect(c.finish([15])).toBe(20);
    expect(c.value).toBe(20);
    c.expect([5, 21]); // already covered UIDs are ignored
    expect(c.finish([21])).toBe(21);
    expect(() => c.expect([30, 25])).toThrow(/ascending/);
  });

  it('rate and ETA', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    expect(rateAndEta({ messagesCopied: 90, messagesSkipped: 10, messagesFailed: 0, messagesTotal: 300 }, start, new Date('2026-01-01T00:00:10Z'))).toEqual({ rate: 10, etaSeconds: 20 });
    expect(rateAndEta({ messagesCopied: 0, messagesSkipped: 0, messagesFailed: 0, messagesTotal: 300 }, start, new Date('2026-01-01T00:00:10Z'))).toEqual({ rate: null, etaSeconds: null });
    expect(rateAndEta({ messagesCopied: 1, messagesSkipped: 0, messagesFailed: 0, messagesTotal: 1 }, null)).toEqual({ rate: null, etaSeconds: null });
  });

  it('UID sets', () => {
    expect(uidSet([1, 2, 3, 7, 9, 10])).toBe('1:3,7,9:10');
    expect(uidSet([5])).toBe('5');
    expect(uidSet([])).toBe('');
  });
});

describe('error classes', () => {
  const ctx = { host: 'imap.example.test', port: 993, security: 'SSL' as const, secrets: ['Sup3rSecret!'] };
  const err = (props: Record<string, unknown>, message = 'x') => Object.assign(new Error(message), props);

  it('wrong password is permanent and says so, without echoing the password', () => {
    const e = classifyError(err({ authenticationFailed: true, responseText: 'Authentication failed for Sup3rSecret!', serverResponseCode: 'AUTHENTICATIONFAILED' }), ctx);
    expect(e).toBeInstanceOf(SourceAuthenticationError);
    expect(e.code).toBe('AUTH_FAILED');
    expect(e.permanent).toBe(true);
    expect(e.message).toMatch(/username or password/);
    expect(e.message).not.toContain('Sup3rSecret!');
  });

  it('a temporary authentication failure is not a wrong password', () => {
    const e = classifyError(err({ authenticationFailed: true, serverResponseCode: 'UNAVAILABLE', responseText: 'Temporary authentication failure.' }), ctx);
    expect(e).toBeInstanceOf(SourceServerError);
    expect(e.permanent).toBe(false);
  });

  it('TLS failures: plain port spoken to with SSL, missing STARTTLS, untrusted certificate', () => {
    const wrongPort = classifyError(err({ code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, 'ssl3_get_record:wrong version number'), ctx);
    expect(wrongPort).toBeInstanceOf(SourceTlsError);
    expect(wrongPort.message).toMatch(/993/);
    const noStarttls = classifyError(err({ tlsFailed: true }, 'Server does not support STARTTLS'), { ...ctx, security: 'STARTTLS' });
    expect(noStarttls).toBeInstanceOf(SourceTlsError);
    expect(noStarttls.message).toMatch(/STARTTLS/);
    const cert = classifyError(err({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'self-signed certificate'), ctx);
    expect(cert).toBeInstanceOf(SourceTlsError);
    expect(cert.message).toMatch(/certificate/);
    expect(cert.permanent).toBe(true);
  });

  it('unreachable hosts: unknown names are permanent, refused/timeouts are transient', () => {
    expect(classifyError(err({ code: 'ENOTFOUND' }), ctx)).toMatchObject({ code: 'HOST_UNREACHABLE', permanent: true });
    expect(classifyError(err({ code: 'ECONNREFUSED' }), ctx)).toMatchObject({ code: 'HOST_UNREACHABLE', permanent: false });
    expect(classifyError(err({ code: 'ECONNREFUSED' }), ctx)).toBeInstanceOf(SourceUnreachableError);
    expect(classifyError(err({ code: 'CONNECT_TIMEOUT' }), ctx)).toMatchObject({ code: 'CONNECT_TIMEOUT', permanent: false });
    expect(classifyError(err({ code: 'EHOSTUNREACH' }), ctx).message).toMatch(/imap\.example\.test:993/);
  });

  it('a server that never greets is a greeting timeout (transient), not a TLS failure, whatever imapflow’s message says', () => {
    const silent = classifyError(err({ code: 'GREETING_TIMEOUT' }, 'Failed to receive greeting from server in required time. Maybe should use TLS?'), { ...ctx, security: 'NONE' });
    expect(silent).toMatchObject({ code: 'GREETING_TIMEOUT', permanent: false });
    expect(silent).toBeInstanceOf(SourceTimeoutError);
  });

  it('lost connections and server refusals are transient', () => {
    expect(classifyError(err({ code: 'ECONNRESET' }), ctx)).toMatchObject({ code: 'CONNECTION_LOST', permanent: false });
    expect(classifyError(err({ code: 'NoConnection' }), ctx)).toMatchObject({ code: 'CONNECTION_LOST', permanent: false });
    expect(classifyError(err({ code: 'ETIMEOUT' }), ctx)).toMatchObject({ code: 'TIMEOUT', permanent: false });
    expect(classifyError(err({ responseStatus: 'NO', responseText: 'Mailbox is locked' }), ctx)).toMatchObject({ code: 'SOURCE_ERROR', permanent: false });
  });

  it('target: over quota is permanent and distinct; other target failures are transient', () => {
    expect(classifyError(new TargetError('APPEND INBOX: NO [OVERQUOTA] Quota exceeded', 'OVERQUOTA'))).toBeInstanceOf(TargetOverQuotaError);
    expect(classifyError(new TargetOverQuotaError())).toMatchObject({ code: 'TARGET_OVER_QUOTA', permanent: true });
    expect(classifyError(new TargetError('session ended'))).toMatchObject({ code: 'TARGET_ERROR', permanent: false });
    // An address that merely contains "quota" is no over-quota answer, and server paths stay out of the tenant's message.
    const unreachable = classifyError(new TargetError('user quota.team@example.com: connect(/run/dovecot/auth-userdb) failed: No such file or directory'));
    expect(unreachable).toMatchObject({ code: 'TARGET_ERROR', permanent: false });
    expect(unreachable.message).not.toContain('/run/dovecot');
    expect(unreachable.message).toContain('quota.team@example.com');
    expect(classifyError(new TargetError('APPEND: NO Not enough disk quota'))).toBeInstanceOf(TargetOverQuotaError);
  });

  it('unknown errors are INTERNAL and retried; classified errors pass through', () => {
    const e = classifyError(new TypeError('undefined is not a function'));
    expect(e).toMatchObject({ code: 'INTERNAL', permanent: false });
    expect(e.message).not.toMatch(/undefined/);
    const known = new MigrationError('TIMEOUT', 't', false);
    expect(classifyError(known)).toBe(known);
  });

  it('scrub: one line, short, secrets removed', () => {
    expect(scrub('a\r\nb Sup3rSecret!', ['Sup3rSecret!'])).toBe('a b ***');
    expect(scrub('x'.repeat(500)).length).toBe(200);
  });
});

describe('modified UTF-7', () => {
  it.each([
    ['INBOX', 'INBOX'],
    ['Über', '&ANw-ber'],
    ['Projekte/Über', 'Projekte/&ANw-ber'],
    ['A & B', 'A &- B'],
    ['日本語', '&ZeVnLIqe-'],
    ['Entwürfe', 'Entw&APw-rfe'],
  ])('%s ↔ %s', (plain, encoded) => {
    expect(encodeMutf7(plain)).toBe(encoded);
    expect(decodeMutf7(encoded)).toBe(plain);
  });
  it('round-trips emoji (surrogate pairs)', () => {
    expect(decodeMutf7(encodeMutf7('Mail 📬 box'))).toBe('Mail 📬 box');
  });
});

describe('Maildir format', () => {
  it('folder directories as Dovecot names them', () => {
    expect(folderDirName('INBOX')).toBe('');
    expect(folderDirName('Archive/2024')).toBe('.Archive.2024');
    expect(folderDirName('Projekte/Über')).toBe('.Projekte.&ANw-ber');
    expect(folderNameOfDir('.Projekte.&ANw-ber')).toBe('Projekte/Über');
    // "." inside a name, as Dovecot's listescape plugin stores it.
    expect(folderDirName('Kunden/Projekt v1.2')).toBe('.Kunden.Projekt v1\\2e2');
    expect(folderNameOfDir('.Kunden.Projekt v1\\2e2')).toBe('Kunden/Projekt v1.2');
    expect(folderNameOfDir('cur')).toBeNull();
    expect(folderNameOfDir('..')).toBeNull();
  });

  it('flags: system letters sorted, keywords numbered in dovecot-keywords', () => {
    const keywords = parseKeywordsFile('0 $Forwarded\n');
    expect(flagsToInfo(['\\Seen', '\\Flagged', '\\Recent', 'custom1', '$Forwarded', '\\Answered', '\\Draft', '\\Deleted'], keywords)).toBe(':2,DFRSTab');
    expect(keywords).toEqual(['$Forwarded', 'custom1']);
    expect(formatKeywordsFile(keywords)).toBe('0 $Forwarded\n1 custom1\n');
    expect(infoToFlags(':2,DFRSTab', keywords).sort()).toEqual(['$Forwarded', '\\Answered', '\\Deleted', '\\Draft', '\\Flagged', '\\Seen', 'custom1'].sort());
    expect(flagsToInfo([], [])).toBe(':2,');
    expect(flagsToInfo(['bad keyword', 'x(y'], [])).toBe(':2,');
  });

  it('at most 26 keywords per folder', () => {
    const kw: string[] = [];
    const many = Array.from({ length: 30 }, (_, i) => `k${i}`);
    const info = flagsToInfo(many, kw);
    expect(kw).toHaveLength(26);
    expect(info).toBe(':2,' + 'abcdefghijklmnopqrstuvwxyz');
  });

  it('file names carry S= (bytes on disk) and W= (RFC822 size)', () => {
    const { data, vsize } = toStoredForm(Buffer.from('Subject: x\r\n\r\nbody\r\n'));
    expect(data.toString()).toBe('Subject: x\n\nbody\n');
    expect(vsize).toBe(20);
    const name = uniqueFileName({ now: new Date(1700000000123), seq: 7, pid: 42, host: 'mx/1:2', size: data.length, vsize, info: ':2,S' });
    expect(name).toBe('1700000000.M123000P42Q7.mx\\0571\\0722,S=17,W=20:2,S');
    expect(parseFileName(name)).toEqual({ size: 17, vsize: 20, info: ':2,S' });
    expect(parseFileName('1.M1P1.host')).toEqual({ size: null, vsize: null, info: '' });
  });

  it('subscriptions file in Dovecot 2 format (and the old one-name-a-line)', () => {
    const text = formatSubscriptions(['Sent', 'Archive/2024', 'Projekte/Über']);
    expect(text).toBe('V\t2\n\nSent\nArchive\t2024\nProjekte\t&ANw-ber\n');
    expect(parseSubscriptions(text)).toEqual(['Sent', 'Archive/2024', 'Projekte/Über']);
    expect(parseSubscriptions('Sent\nDrafts\n')).toEqual(['Sent', 'Drafts']);
  });
});

describe('IMAP response reader', () => {
  it('waits for literals to arrive completely, keeps their bytes', () => {
    const r = new ResponseReader();
    const body = Buffer.from([0x4d, 0x2d, 0xff, 0x00, 0x0d, 0x0a, 0x41]);
    expect(r.feed(Buffer.from(`* 1 FETCH (UID 5 RFC822.SIZE 7 BODY[HEADER.FIELDS (MESSAGE-ID DATE)] {${body.length}}\r\n`))).toEqual([]);
    expect(r.feed(body.subarray(0, 3))).toEqual([]);
    const out = r.feed(Buffer.concat([body.subarray(3), Buffer.from(' INTERNALDATE "01-Jan-2024 10:00:00 +0000")\r\nm1 OK done\r\n')]));
    expect(out).toHaveLength(2);
    const items = fetchItems(out[0]!.tokens);
    expect(items.get('UID')).toBe('5');
    expect(Buffer.compare(items.get('BODY[HEADER.FIELDS (MESSAGE-ID DATE)]') as Buffer, body)).toBe(0);
    expect(items.get('INTERNALDATE')).toBe('01-Jan-2024 10:00:00 +0000');
    expect(out[1]).toEqual({ tag: 'm1', tokens: ['OK', 'done'] });
  });

  it('tokenizes lists, quoted strings, NIL and response codes', () => {
    expect(tokenize(['LIST (\\HasNoChildren \\Sent) "/" "Sent \\"x\\""'])).toEqual(['LIST', ['\\HasNoChildren', '\\Sent'], '/', 'Sent "x"']);
    expect(tokenize(['STATUS INBOX (MESSAGES 2 UIDNEXT NIL)'])).toEqual(['STATUS', 'INBOX', ['MESSAGES', '2', 'UIDNEXT', null]]);
    expect(responseCode(['NO', '[OVERQUOTA]', 'Quota', 'exceeded'])).toBe('OVERQUOTA');
    expect(responseCode(['OK', '[APPENDUID 1 2:3]', 'done'])).toBe('APPENDUID');
    expect(responseCode(['OK', 'done'])).toBeNull();
  });

  it('encodes what the client sends', () => {
    expect(quoteString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(() => quoteString('a\r\nb')).toThrow();
    const d = new Date('2024-03-05T07:08:09Z');
    expect(formatInternalDate(d)).toBe('"05-Mar-2024 07:08:09 +0000"');
    expect(parseInternalDate('05-Mar-2024 09:08:09 +0200')!.toISOString()).toBe(d.toISOString());
    expect(parseInternalDate(' 5-Mar-2024 07:08:09 +0000')!.toISOString()).toBe(d.toISOString());
    expect(appendableFlags(['\\Seen', '\\Recent', '$Forwarded', 'bad word', '\\Unknown'])).toEqual(['\\Seen', '$Forwarded']);
  });
});

describe('source addresses', () => {
  it('private, loopback, link-local and mapped addresses are private', () => {
    for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1'])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '172.32.0.1', '193.99.144.80', '2a00:1450::1']) expect(isPrivateAddress(ip), ip).toBe(false);
  });
  it('host syntax', () => {
    expect(validHostSyntax('imap.example.com')).toBe(true);
    expect(validHostSyntax('127.0.0.1')).toBe(true);
    expect(validHostSyntax('::1')).toBe(true);
    expect(validHostSyntax('bad host')).toBe(false);
    expect(validHostSyntax('-x.com')).toBe(false);
    expect(validHostSyntax('a'.repeat(64) + '.com')).toBe(false);
  });
});
