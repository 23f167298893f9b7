// Bulk migration selections shared by the bulk list and the live table of one bulk.
import { graphql } from './graphql';

export const BulkRowFields = graphql(`
  fragment BulkRowFields on Migration {
    id
    status
    phase
    cancelRequested
    waitingForSlot
    messagesTotal
    messagesCopied
    messagesSkipped
    messagesFailed
    rate
    etaSeconds
    startedAt
    finishedAt
    error { code message }
    attempt { attempt maxAttempts nextRetryAt lastAttemptAt }
    source { host port security username }
    mailbox { id address }
  }
`);

export const BulkFields = graphql(
  `
    fragment BulkFields on BulkMigration {
      id
      name
      rows
      createdAt
      createdBy
      summary { total queued waiting running syncing succeeded failed cancelled messagesCopied messagesTotal rate etaSeconds }
      migrations(first: 1000) { edges { node { ...BulkRowFields } } }
    }
  `,
  [BulkRowFields],
);

export const BulkMigrationProgress = graphql(
  `
    subscription BulkMigrationProgress($id: ID!) {
      bulkMigrationProgress(id: $id) { ...BulkFields }
    }
  `,
  [BulkFields],
);

/** Share of all messages of the bulk dealt with, 0–100 (a finished bulk with nothing to copy is 100). */
export function bulkPercent(s: { messagesCopied: number; messagesTotal: number; total: number; succeeded: number; failed: number; cancelled: number }): number {
  const ended = s.succeeded + s.failed + s.cancelled === s.total;
  if (!s.messagesTotal) return ended ? 100 : 0;
  return Math.min(100, Math.floor((s.messagesCopied / s.messagesTotal) * 100));
}

/** Reads a chosen file as text for the API (CSV). */
export function readFileText(input: HTMLInputElement): Promise<{ name: string; text: string } | null> {
  const file = input.files?.[0];
  if (!file) return Promise.resolve(null);
  return file.text().then((text) => ({ name: file.name, text }));
}
