-- Issue 16: a mailbox's language (NULL = English, the default), for the mails the panel sends its
-- owner (quota warnings). The supported set is core/src/mailbox-language.ts; the API refuses others
-- with a field error, and this constraint keeps any other writer to the same set.
ALTER TABLE "mailboxes" ADD COLUMN "language" TEXT;
ALTER TABLE "mailboxes" ADD CONSTRAINT "mailboxes_language_check" CHECK ("language" IN ('en', 'de', 'fr', 'es', 'nl'));
