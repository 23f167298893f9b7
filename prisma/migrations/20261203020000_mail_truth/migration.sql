-- Issue 12 (mail truth at the edges).

-- Addresses Postfix refuses with 550 5.2.1 (read through the read-only role, like the other mail_*
-- views): a DISABLED mailbox's address, and the name of a disabled domain (every address in it).
-- mail_users leaves such a mailbox out, so without this view a catch-all of its domain (or a forward
-- pointing at it) would take its mail. A mailbox being deleted is not refused: it no longer exists.
-- Looked up by key only (the unique indexes on mailboxes.address and domains.name).
CREATE VIEW "mail_refused" AS
  SELECT m.address AS key FROM mailboxes m
   WHERE m.status = 'DISABLED' AND m.provisioning <> 'DELETING'
  UNION ALL
  SELECT d.name AS key FROM domains d WHERE NOT d.enabled;

-- Largest message a customer's mailboxes accept, in MB (NULL = the server's limit, Postfix's
-- message_size_limit / MESSAGE_SIZE_LIMIT_BYTES). Enforced at RCPT by the policy service, from the
-- SIZE= the client announced in MAIL FROM.
ALTER TABLE "hosting_packages" ADD COLUMN "max_message_size_mb" INTEGER;
