import { describe, expect, it } from 'vitest';
import { addressOf, decodeEncodedWords, messageInfo, spamScoreOf, parseHeaders } from '../src/quarantine/message-info.js';

describe('quarantine message info', () => {
  it('reads sender, decoded subject, rspamd score and date from the header block only', () => {
    const raw = [
      'Return-Path: <bounce@mailer.test>',
      'X-Spamd-Result: default: False [11.18 / 10000.00];',
      '\tMISSING_MID(2.50)[];',
      'From: "Winner =?utf-8?B?w5w=?=" <Winner@Lottery.TEST>',
      'Subject: =?utf-8?B?RlJFRSBNT05FWSEhIQ==?= =?iso-8859-1?Q?gro=DF?=',
      'Date: Thu, 26 Nov 2026 10:00:00 +0000',
      '',
      'Subject: not a header',
    ].join('\r\n');
    expect(messageInfo(raw)).toEqual({ sender: 'winner@lottery.test', subject: 'FREE MONEY!!!groß', score: 11.18, date: new Date('2026-11-26T10:00:00Z') });
  });

  it('falls back to X-Spam-Status and Return-Path; absent values are empty or null', () => {
    const h = parseHeaders('X-Spam-Status: Yes, score=-2.50\nReturn-Path: <a@b.test>\n\n');
    expect(spamScoreOf(h)).toBe(-2.5);
    expect(messageInfo('Return-Path: <a@b.test>\n\nbody')).toEqual({ sender: 'a@b.test', subject: '', score: null, date: null });
  });

  it('strips control and bidi characters and bounds lengths', () => {
    const info = messageInfo(`From: x@y.test\nSubject: a\u0007b\u202ec ${'z'.repeat(600)}\n\n`);
    expect(info.subject).not.toMatch(/[\u0007\u202e]/);
    expect(info.subject.length).toBe(500);
    expect(info.subject.startsWith('a b c')).toBe(true);
  });

  it('leaves unknown charsets and broken words readable', () => {
    expect(decodeEncodedWords('=?x-unknown?B?SGk=?=')).toBe('=?x-unknown?B?SGk=?=');
    expect(addressOf('Name <A@B.test>')).toBe('a@b.test');
    expect(addressOf('plain@example.test (comment)')).toBe('plain@example.test');
  });
});
