// What the copier needs from the mailbox it writes into. Two implementations: DovecotTarget (IMAP
// through the panel's Dovecot, pre-authenticated with `doveadm exec imap`) and MaildirTarget (files
// written directly, for the embedded default without a local Dovecot).
import type { KeyCounter } from '@mailpanel/core/migration/dedupe';

export interface TargetFolderInfo {
  name: string;
  specialUse: string | null;
}

export interface OutgoingMessage {
  uid: number;
  raw: Buffer;
  flags: string[];
  internalDate: Date;
  /** RFC822.SIZE on the source. */
  size: number;
}

export interface Target {
  readonly engine: 'IMAP_APPEND' | 'MAILDIR';
  listFolders(): Promise<TargetFolderInfo[]>;
  /** Creates (and subscribes) the folder when missing. */
  ensureFolder(name: string): Promise<void>;
  messageCount(name: string): Promise<number>;
  /** Dedupe keys of every message in the folder. */
  keys(name: string): Promise<KeyCounter>;
  /**
   * Stores the messages in order. Resolves with the UIDs the target refused one by one (a message
   * it cannot store); throws PartialAppendError when it had to stop (over quota, session lost) after
   * `stored` leading messages.
   */
  append(name: string, messages: OutgoingMessage[]): Promise<{ refused: number[] }>;
  close(): Promise<void>;
}

export class PartialAppendError extends Error {
  constructor(
    readonly stored: number,
    readonly cause: unknown,
  ) {
    super('append stopped part way');
  }
}
