-- Live mailbox counts per customer and status, so a listing's totalCount is a sum over a few rows
-- instead of counting 100,000 mailboxes on every page (the listing benchmark's p99 was the count).
-- Counted: mailboxes not being deleted (provisioning <> 'DELETING'), exactly what the listings show.
-- Invariant: for every (customer_id, status), n = the number of such mailboxes — kept by the
-- statement trigger below on every INSERT, UPDATE and DELETE of mailboxes, in the writer's own
-- transaction, so a count is never ahead of or behind the rows it counts.
CREATE TABLE "mailbox_counts" (
    "customer_id" UUID NOT NULL,
    "status" "MailboxStatus" NOT NULL,
    "n" BIGINT NOT NULL,
    CONSTRAINT "mailbox_counts_pkey" PRIMARY KEY ("customer_id", "status")
);

CREATE FUNCTION "mailbox_counts_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Net change per key from the statement's transition tables. Keys are written in one order
  -- (ORDER BY), so two statements touching the same keys wait for each other instead of deadlocking;
  -- a statement that changes no count (a quota refresh, a provisioning state) writes nothing.
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "mailbox_counts" ("customer_id", "status", "n")
      SELECT "customer_id", "status", count(*) FROM new_rows WHERE "provisioning" <> 'DELETING'
       GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("customer_id", "status") DO UPDATE SET "n" = "mailbox_counts"."n" + EXCLUDED."n";
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "mailbox_counts" ("customer_id", "status", "n")
      SELECT "customer_id", "status", -count(*) FROM old_rows WHERE "provisioning" <> 'DELETING'
       GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT ("customer_id", "status") DO UPDATE SET "n" = "mailbox_counts"."n" + EXCLUDED."n";
  ELSE
    INSERT INTO "mailbox_counts" ("customer_id", "status", "n")
      SELECT "customer_id", "status", sum(d) FROM (
          SELECT "customer_id", "status", 1 AS d FROM new_rows WHERE "provisioning" <> 'DELETING'
          UNION ALL
          SELECT "customer_id", "status", -1 FROM old_rows WHERE "provisioning" <> 'DELETING') changes
       GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
      ON CONFLICT ("customer_id", "status") DO UPDATE SET "n" = "mailbox_counts"."n" + EXCLUDED."n";
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "mailboxes_count_insert" AFTER INSERT ON "mailboxes"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "mailbox_counts_apply"();
CREATE TRIGGER "mailboxes_count_update" AFTER UPDATE ON "mailboxes"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "mailbox_counts_apply"();
CREATE TRIGGER "mailboxes_count_delete" AFTER DELETE ON "mailboxes"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "mailbox_counts_apply"();
CREATE FUNCTION "mailbox_counts_clear"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "mailbox_counts";
  RETURN NULL;
END $$;
CREATE TRIGGER "mailboxes_count_truncate" AFTER TRUNCATE ON "mailboxes"
  FOR EACH STATEMENT EXECUTE FUNCTION "mailbox_counts_clear"();

INSERT INTO "mailbox_counts" ("customer_id", "status", "n")
  SELECT "customer_id", "status", count(*) FROM "mailboxes" WHERE "provisioning" <> 'DELETING' GROUP BY 1, 2;
