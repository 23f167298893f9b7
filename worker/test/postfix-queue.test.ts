// What the delete-mailbox job does with each queued message of a deleted address (the I/O around it
// is proven on the real Postfix in e2e/mailstack/mail-truth.test.ts, item 5).
import { describe, expect, it } from 'vitest';
import { isRecipientOf, parsePostqueueJson, planQueueCleanup } from '../src/postfix-queue.js';

const line = (queue_name: string, queue_id: string, ...rcpts: string[]) =>
  JSON.stringify({ queue_name, queue_id, arrival_time: 1, message_size: 10, sender: 's@x.test', recipients: rcpts.map((address) => ({ address, delay_reason: 'x' })) });

describe('postfix queue cleanup for a deleted address', () => {
  it('matches the address and its +tag forms, case-insensitively, and nothing else', () => {
    expect(isRecipientOf('gone@ex.test', 'gone@ex.test')).toBe(true);
    expect(isRecipientOf('Gone+Tag@EX.test', 'gone@ex.test')).toBe(true);
    expect(isRecipientOf('gone2@ex.test', 'gone@ex.test')).toBe(false);
    expect(isRecipientOf('gone@ex.test.other', 'gone@ex.test')).toBe(false);
    expect(isRecipientOf('xgone@ex.test', 'gone@ex.test')).toBe(false);
    expect(isRecipientOf('gone@other.test', 'gone@ex.test')).toBe(false);
  });

  it('removes held mail for it alone, releases held mail for others too, delivers the rest now', () => {
    const q = parsePostqueueJson(
      [
        line('deferred', 'AAAAAA1', 'gone@ex.test'),
        line('deferred', 'AAAAAA2', 'gone@ex.test', 'stays@ex.test'),
        line('hold', 'AAAAAA3', 'gone+x@ex.test'),
        line('hold', 'AAAAAA4', 'gone@ex.test', 'friend@out.test'),
        line('active', 'AAAAAA5', 'stays@ex.test'),
        line('incoming', 'AAAAAA6', 'GONE@ex.test'),
      ].join('\n') + '\n',
    );
    expect(planQueueCleanup(q, 'gone@ex.test')).toEqual([
      { queueId: 'AAAAAA1', action: 'deliver' },
      { queueId: 'AAAAAA2', action: 'deliver' },
      { queueId: 'AAAAAA3', action: 'remove' },
      { queueId: 'AAAAAA4', action: 'release-and-deliver' },
      { queueId: 'AAAAAA6', action: 'deliver' },
    ]);
    expect(planQueueCleanup(parsePostqueueJson(''), 'gone@ex.test')).toEqual([]);
  });
});
