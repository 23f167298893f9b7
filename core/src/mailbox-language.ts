// The languages the panel writes its mails to mailbox owners in (quota warnings). NULL on a mailbox
// means the default, English. The same set is a CHECK constraint on mailboxes.language (migration
// 20261206015000_mailbox_language): change both together.
import type { FieldErrors } from './errors.js';

export const MAILBOX_LANGUAGES = ['en', 'de', 'fr', 'es', 'nl'] as const;
export type MailboxLanguage = (typeof MAILBOX_LANGUAGES)[number];
export const DEFAULT_LANGUAGE: MailboxLanguage = 'en';

export function isMailboxLanguage(v: unknown): v is MailboxLanguage {
  return typeof v === 'string' && (MAILBOX_LANGUAGES as readonly string[]).includes(v);
}

/** A language code from input: one of MAILBOX_LANGUAGES (any case, trimmed), or "" for "the default"
 *  (stored as NULL). Anything else is a field error; undefined when refused. */
export function checkMailboxLanguage(errors: FieldErrors, field: string, input: string): MailboxLanguage | null | undefined {
  const v = input.trim().toLowerCase();
  if (v === '') return null;
  if (isMailboxLanguage(v)) return v;
  errors.add(field, 'UNSUPPORTED', `Choose one of ${MAILBOX_LANGUAGES.join(', ')}, or nothing for English`);
  return undefined;
}
