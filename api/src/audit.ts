import type { Tx } from '@mailpanel/core/db';
import type { Context } from './context.js';

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  targetLabel?: string | null;
  customerId?: string | null;
  details?: Record<string, unknown>;
}

/** Record who did what, in the caller's transaction (so the event exists exactly when the change does). */
export async function audit(tx: Tx, ctx: Pick<Context, 'viewer' | 'clientIp'>, entry: AuditEntry): Promise<void> {
  const v = ctx.viewer;
  await tx.auditEvent.create({
    data: {
      actorType: v.kind === 'user' ? (v.tokenId ? 'API_TOKEN' : 'USER') : v.kind === 'mailbox' ? 'MAILBOX' : 'ANONYMOUS',
      actorId: v.kind === 'user' ? v.userId : v.kind === 'mailbox' ? v.mailboxId : null,
      actorLabel: v.kind === 'anonymous' ? 'anonymous' : v.label,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId ?? null,
      targetLabel: entry.targetLabel ?? null,
      customerId: entry.customerId ?? null,
      clientIp: ctx.clientIp,
      details: (entry.details ?? {}) as object,
    },
  });
}
