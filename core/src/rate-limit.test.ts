import { describe, expect, it } from 'vitest';
import { decideBatch, deferMessage, effectiveLimit, hourWindow, senderCounters, windowEnd, type BatchItem, type Sender } from './rate-limit.js';

const sender = (n: string, limits: Partial<Sender['limits']> = {}, domainId = 'd1', customerId = 'c1'): Sender => ({
  address: `${n}@example.test`,
  mailboxId: `m-${n}`,
  domainId,
  customerId,
  limits: { MAILBOX: null, DOMAIN: null, CUSTOMER: null, ...limits },
});
const one = (s: Sender, cost = 1): BatchItem => ({ sender: s, cost });
const allowed = (ds: { allowed: boolean }[]) => ds.map((d) => d.allowed);

describe('rate-limit arithmetic', () => {
  it('fixed UTC hour windows', () => {
    const w = hourWindow(new Date('2026-11-27T10:59:59.999Z'));
    expect(w.toISOString()).toBe('2026-11-27T10:00:00.000Z');
    expect(windowEnd(w).toISOString()).toBe('2026-11-27T11:00:00.000Z');
    expect(hourWindow(new Date('2026-11-27T11:00:00.000Z')).toISOString()).toBe('2026-11-27T11:00:00.000Z');
  });

  it('an override wins over the package; 0 means unlimited either way', () => {
    expect(effectiveLimit(100, null)).toBe(100);
    expect(effectiveLimit(100, undefined)).toBe(100);
    expect(effectiveLimit(100, 5)).toBe(5);
    expect(effectiveLimit(100, 0)).toBeNull();
    expect(effectiveLimit(0, null)).toBeNull();
    expect(effectiveLimit(0, 7)).toBe(7);
  });

  it('the (N+1)th message of a mailbox is refused, and counts nothing', () => {
    const s = sender('a', { MAILBOX: 3 });
    const { decisions, increments } = decideBatch([one(s), one(s), one(s), one(s), one(s)], new Map());
    expect(allowed(decisions)).toEqual([true, true, true, false, false]);
    expect(decisions[3]).toEqual({ allowed: false, exceeded: { kind: 'MAILBOX', limit: 3, used: 3 } });
    expect(increments.get('MAILBOX:m-a')).toBe(3);
    expect(increments.get('DOMAIN:d1')).toBe(3);
    expect(increments.get('CUSTOMER:c1')).toBe(3);
  });

  it('starts from the stored counts, and one message counts once per recipient', () => {
    const s = sender('a', { MAILBOX: 10 });
    const counts = new Map([['MAILBOX:m-a', 7]]);
    const { decisions } = decideBatch([one(s, 2), one(s, 2), one(s, 1)], counts);
    expect(allowed(decisions)).toEqual([true, false, true]);
    expect(decisions[1]).toMatchObject({ exceeded: { used: 9 } });
  });

  it('a domain limit binds across its mailboxes, a customer limit across its domains', () => {
    const a = sender('a', { DOMAIN: 2, CUSTOMER: 3 }, 'd1');
    const b = sender('b', { DOMAIN: 2, CUSTOMER: 3 }, 'd1');
    const c = sender('c', { DOMAIN: 2, CUSTOMER: 3 }, 'd2');
    const { decisions } = decideBatch([one(a), one(b), one(a), one(c), one(c)], new Map());
    expect(allowed(decisions)).toEqual([true, true, false, true, false]);
    expect(decisions[2]).toMatchObject({ exceeded: { kind: 'DOMAIN' } });
    expect(decisions[4]).toMatchObject({ exceeded: { kind: 'CUSTOMER', limit: 3 } });
  });

  it('a refused message leaves room for a smaller one; unlimited still counts', () => {
    const s = sender('a', { CUSTOMER: 5 });
    const { decisions, increments } = decideBatch([one(s, 4), one(s, 3), one(s, 1)], new Map());
    expect(allowed(decisions)).toEqual([true, false, true]);
    expect(increments.get('MAILBOX:m-a')).toBe(5);
    expect(decideBatch([one(sender('u'), 1000)], new Map()).decisions[0]).toEqual({ allowed: true });
  });

  it('costs below 1 count as 1', () => {
    const { increments } = decideBatch([one(sender('a'), 0), one(sender('a'), -5)], new Map());
    expect(increments.get('MAILBOX:m-a')).toBe(2);
  });

  it('counters are the mailbox, its domain and its customer', () => {
    expect(senderCounters(sender('a')).map((c) => c.key)).toEqual(['MAILBOX:m-a', 'DOMAIN:d1', 'CUSTOMER:c1']);
  });

  it('says who is limited, to what and until when', () => {
    const s = sender('a');
    const w = new Date('2026-11-27T10:00:00Z');
    expect(deferMessage({ kind: 'MAILBOX', limit: 3, used: 3 }, s, w)).toBe('Sending limit reached: 3 e-mails per hour for a@example.test; try again after 11:00 UTC');
    expect(deferMessage({ kind: 'DOMAIN', limit: 9, used: 9 }, s, w)).toContain('for the domain example.test');
    expect(deferMessage({ kind: 'CUSTOMER', limit: 9, used: 9 }, s, w)).toContain('for your account');
  });
});
