// Migration selections and display helpers shared by the list, the form and the live view.
import { graphql } from './graphql';

export const MigrationFields = graphql(`
  fragment MigrationFields on Migration {
    id
    status
    phase
    engine
    runs
    waitingForSlot
    cancelRequested
    createdAt
    startedAt
    finishedAt
    heartbeatAt
    foldersDone
    foldersTotal
    messagesTotal
    messagesCopied
    messagesSkipped
    messagesFailed
    bytesCopied
    rate
    etaSeconds
    error { code message }
    attempt { attempt maxAttempts nextRetryAt lastAttemptAt }
    verification { ok missing extra repaired checkedAt }
    sync { intervalMinutes count lastSyncAt lastSyncMessages lastSyncBytes nextSyncAt finishRequested }
    source { host port security username }
    createdBy { label type }
    mailbox { id address }
    folders {
      sourceName
      targetName
      specialUse
      status
      messagesTotal
      messagesCopied
      messagesSkipped
      messagesFailed
      bytesCopied
      engine
      note
      verification { sourceMessages targetMessages missing extra }
    }
  }
`);

export const MigrationProgressSubscription = graphql(
  `
    subscription MigrationProgress($id: ID!) {
      migrationProgress(id: $id) { ...MigrationFields }
    }
  `,
  [MigrationFields],
);

export type MigrationStatus = 'QUEUED' | 'RUNNING' | 'SYNCING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
/** Not ended (SYNCING: keep in sync until cut-over — it ends with "Finish" or "Cancel"). */
export const ACTIVE_STATUSES: MigrationStatus[] = ['QUEUED', 'RUNNING', 'SYNCING'];

export const STATUS_LABEL: Record<MigrationStatus, { text: string; cls: string }> = {
  QUEUED: { text: 'Queued', cls: 'accent' },
  RUNNING: { text: 'Running', cls: 'accent' },
  SYNCING: { text: 'Keeping in sync', cls: 'accent' },
  SUCCEEDED: { text: 'Finished', cls: 'ok' },
  FAILED: { text: 'Failed', cls: 'danger' },
  CANCELLED: { text: 'Cancelled', cls: 'warning' },
};

export const PHASE_LABEL: Record<string, string> = {
  WAITING: 'Waiting for a worker',
  CONNECTING: 'Connecting to the source',
  PLANNING: 'Reading the source folders',
  COPYING: 'Copying messages',
  VERIFYING: 'Verifying: comparing every folder with the source',
  FINISHED: 'Done',
  IDLE: 'Waiting for the next sync',
};

type AttemptView = {
  status: string;
  phase: string;
  attempt?: { attempt: number; maxAttempts: number; nextRetryAt?: string | null; lastAttemptAt?: string | null } | null;
};

/** What a migration is doing, in words: "Waiting to retry" (not "for a worker") between attempts. */
export function phaseText(m: AttemptView): string {
  if (m.phase === 'WAITING' && m.attempt?.nextRetryAt) return 'Waiting to retry';
  return PHASE_LABEL[m.phase] ?? m.phase;
}

/** "Attempt 2 of 7 · next retry at …" while it runs (or after more than one attempt); else null. */
export function attemptText(m: AttemptView, formatTime: (iso: string) => string): string | null {
  const a = m.attempt;
  const active = (ACTIVE_STATUSES as string[]).includes(m.status);
  if (!a || !(active || a.attempt > 1)) return null;
  const waiting = active && m.phase === 'WAITING' && a.nextRetryAt;
  const next = waiting ? ` · next retry at ${formatTime(a.nextRetryAt!)}` : '';
  const last = waiting && a.lastAttemptAt ? ` · gives up if the try at ${formatTime(a.lastAttemptAt)} fails too` : '';
  return `Attempt ${a.attempt} of ${a.maxAttempts}${next}${last}`;
}

export type SyncView = {
  status: string;
  sync?: { count: number; lastSyncAt?: string | null; lastSyncMessages?: number | null; lastSyncBytes?: number | null; nextSyncAt?: string | null; finishRequested: boolean } | null;
};

/** "Last sync 10:15: 3 messages (12 KB)"; null before the first copy is done or without sync mode. */
export function lastSyncText(m: SyncView, formatTime: (iso: string) => string, formatBytes: (n: number) => string): string | null {
  const s = m.sync;
  if (!s?.lastSyncAt) return null;
  const n = s.lastSyncMessages ?? 0;
  return `Last sync ${formatTime(s.lastSyncAt)}: ${n.toLocaleString()} ${n === 1 ? 'message' : 'messages'} (${formatBytes(s.lastSyncBytes ?? 0)})`;
}

/** "Next sync 10:30" / "Finishing: last sync now" while it keeps in sync; else null. */
export function nextSyncText(m: SyncView, formatTime: (iso: string) => string): string | null {
  const s = m.sync;
  if (!s || !(ACTIVE_STATUSES as string[]).includes(m.status)) return null;
  if (s.finishRequested) return 'Finishing: one last sync, then it ends';
  if (m.status === 'SYNCING' && s.nextSyncAt) return `Next sync ${formatTime(s.nextSyncAt)}`;
  return null;
}

/** Share of the messages dealt with (copied, already there, or failed), 0–100. */
export function percentDone(m: { messagesTotal: number; messagesCopied: number; messagesSkipped: number; messagesFailed: number; status: string }): number {
  if (m.status === 'SUCCEEDED' || m.status === 'SYNCING') return 100;
  if (!m.messagesTotal) return 0;
  return Math.min(100, Math.floor(((m.messagesCopied + m.messagesSkipped + m.messagesFailed) / m.messagesTotal) * 100));
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null) return '—';
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function securityDefaultPort(security: 'SSL' | 'STARTTLS' | 'NONE'): number {
  return security === 'SSL' ? 993 : 143;
}
