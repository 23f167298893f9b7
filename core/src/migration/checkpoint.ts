// Per-folder UID checkpoints: "every source message with a UID up to lastUid is in the target (or was
// deliberately skipped)". Pure arithmetic, so the rules are tested without a server.
//
// Invariants:
// - A checkpoint is only valid for the UIDVALIDITY it was taken under; when the source folder's
//   UIDVALIDITY changes, its UIDs mean nothing any more and the folder is scanned from the start
//   (deduplication keeps that from copying anything twice).
// - The checkpoint only moves forward, and only over a contiguous run of finished UIDs: a message
//   still in flight holds it back, so a crash can make the next run re-check a message, never skip one.
// - Re-checking is cheap: the target's copy of a message re-fetched after a crash is recognised by
//   its dedupe key (see dedupe.ts), so resuming never duplicates.

export interface StoredCheckpoint {
  uidValidity: bigint | null;
  lastUid: bigint;
}

export interface SourceFolderState {
  uidValidity: bigint;
  /** UIDNEXT from SELECT/STATUS; null when the server did not say. */
  uidNext: number | null;
  exists: number;
}

export interface FolderRunPlan {
  /** The stored checkpoint no longer applies (UIDVALIDITY changed). */
  reset: boolean;
  /** Copy UIDs from here on (lastUid + 1). */
  fromUid: number;
  /** The folder has nothing after the checkpoint: nothing to fetch. */
  upToDate: boolean;
}

export function planFolderRun(stored: StoredCheckpoint, source: SourceFolderState): FolderRunPlan {
  const reset = stored.uidValidity !== null && stored.uidValidity !== source.uidValidity;
  const lastUid = reset ? 0 : Number(stored.lastUid);
  const upToDate = source.exists === 0 || (source.uidNext !== null && source.uidNext - 1 <= lastUid);
  return { reset, fromUid: lastUid + 1, upToDate };
}

/** Tracks which UIDs of a run are finished and where the checkpoint may safely stand. */
export class UidCheckpoint {
  private pending: number[] = [];
  private finished = new Set<number>();

  constructor(private current: number) {}

  /** UIDs about to be processed, in ascending order. */
  expect(uids: number[]): void {
    for (const u of uids) {
      if (u <= this.current) continue;
      if (this.pending.length && u <= this.pending[this.pending.length - 1]!) throw new Error('UIDs must be expected in ascending order');
      this.pending.push(u);
    }
  }

  /** Marks UIDs finished (copied or skipped); returns the new checkpoint. */
  finish(uids: Iterable<number>): number {
    for (const u of uids) this.finished.add(u);
    let i = 0;
    while (i < this.pending.length && this.finished.has(this.pending[i]!)) {
      this.finished.delete(this.pending[i]!);
      this.current = this.pending[i]!;
      i++;
    }
    if (i) this.pending = this.pending.slice(i);
    return this.current;
  }

  get value(): number {
    return this.current;
  }
}

export interface ProgressCounters {
  messagesCopied: number;
  messagesSkipped: number;
  messagesFailed: number;
  messagesTotal: number;
}

/** Messages per second over the run so far, and the seconds left at that rate (null when unknown). */
export function rateAndEta(c: ProgressCounters, startedAt: Date | null, now: Date = new Date()): { rate: number | null; etaSeconds: number | null } {
  if (!startedAt) return { rate: null, etaSeconds: null };
  const seconds = (now.getTime() - startedAt.getTime()) / 1000;
  const done = c.messagesCopied + c.messagesSkipped + c.messagesFailed;
  if (seconds < 1 || done === 0) return { rate: null, etaSeconds: null };
  const rate = done / seconds;
  const left = Math.max(0, c.messagesTotal - done);
  return { rate: Math.round(rate * 10) / 10, etaSeconds: Math.ceil(left / rate) };
}
