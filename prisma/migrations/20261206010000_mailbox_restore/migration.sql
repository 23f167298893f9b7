-- Issue 16: deletion with restore. A package's grace period (days; 0 = delete at once, as before).
-- With one, deleting a mailbox only marks it: deleted_at (when) and purge_at (when the worker's
-- schedule purges it: its files, then the row). Until then its row, mail and address stay, so
-- restoreMailbox can bring it back as it was; the row keeps the address reserved (unique).
ALTER TABLE "hosting_packages" ADD COLUMN "delete_grace_days" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "mailboxes" ADD COLUMN "deleted_at" TIMESTAMPTZ(3);
ALTER TABLE "mailboxes" ADD COLUMN "purge_at" TIMESTAMPTZ(3);
CREATE INDEX "mailboxes_purge_at_idx" ON "mailboxes"("purge_at");

-- A deleted mailbox leaves what Dovecot and Postfix read at once: logins fail (mail_users, and
-- mail_app_passwords, which joins it) and new mail is refused with 550 5.2.1 (mail_refused, as for a
-- disabled mailbox: without it a catch-all of its domain would take its mail). Same columns, in order.
CREATE OR REPLACE VIEW "mail_users" AS
  SELECT m.address AS email, m.local_part, d.name AS domain,
         '{ARGON2ID}' || m.password_hash AS password, m.quota_mb,
         d.name_unicode AS domain_unicode, m.app_passwords_only
    FROM mailboxes m JOIN domains d ON d.id = m.domain_id
   WHERE d.enabled AND m.status = 'ACTIVE' AND m.provisioning <> 'DELETING' AND m.deleted_at IS NULL;

CREATE OR REPLACE VIEW "mail_refused" AS
  SELECT m.address AS key, m.local_part, d.name_unicode AS domain_unicode
    FROM mailboxes m JOIN domains d ON d.id = m.domain_id
   WHERE (m.status = 'DISABLED' OR m.deleted_at IS NOT NULL) AND m.provisioning <> 'DELETING'
  UNION ALL
  SELECT d.name AS key, NULL AS local_part, d.name_unicode AS domain_unicode
    FROM domains d WHERE NOT d.enabled
  UNION ALL
  SELECT a.name AS key, NULL AS local_part, a.name_unicode AS domain_unicode
    FROM domains a JOIN domains t ON t.id = a.alias_of_id WHERE a.enabled AND NOT t.enabled;

-- mailbox_counts counts what the listings show and the package limits count: a deleted mailbox (in
-- its grace period) is in neither (restoreMailbox checks the limits again). No row is deleted yet,
-- so the counts need no rebuild.
CREATE OR REPLACE FUNCTION "mailbox_counts_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Net change per key from the statement's transition tables. Keys are written in one order
  -- (ORDER BY), so two statements touching the same keys wait for each other instead of deadlocking;
  -- a statement that changes no count (a quota refresh, a provisioning state) writes nothing.
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "mailbox_counts" ("customer_id", "status", "n")
      SELECT "customer_id", "status", count(*) FROM new_rows WHERE "provisioning" <> 'DELETING' AND "deleted_at" IS NULL
       GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("customer_id", "status") DO UPDATE SET "n" = "mailbox_counts"."n" + EXCLUDED."n";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "mailbox_counts" ("customer_id", "status", "n")
      SELECT "customer_id", "status", -count(*) FROM old_rows WHERE "provisioning" <> 'DELETING' AND "deleted_at" IS NULL
       GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("customer_id", "status") DO UPDATE SET "n" = "mailbox_counts"."n" + EXCLUDED."n";
  ELSE
    INSERT INTO "mailbox_counts" ("customer_id", "status", "n")
      SELECT "customer_id", "status", sum(d) FROM (
          SELECT "customer_id", "status", 1 AS d FROM new_rows WHERE "provisioning" <> 'DELETING' AND "deleted_at" IS NULL
          UNION ALL
          SELECT "customer_id", "status", -1 FROM old_rows WHERE "provisioning" <> 'DELETING' AND "deleted_at" IS NULL) changes
       GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
      ON CONFLICT ("customer_id", "status") DO UPDATE SET "n" = "mailbox_counts"."n" + EXCLUDED."n";
  END IF;
  RETURN NULL;
END $$;
