-- Mailboxes carry their domain's customer. A customer's mailbox page is then one index range in
-- address order: through the join on domains, PostgreSQL scanned all mailboxes of all customers to
-- sort one customer's page (the listing benchmark measured 0.06 × its baseline).
-- Invariant: mailboxes.customer_id = the customer of mailboxes.domain_id, always — kept by the two
-- triggers below, whatever a statement writes, so no code path has to remember it.
ALTER TABLE "mailboxes" ADD COLUMN "customer_id" UUID;
UPDATE "mailboxes" m SET "customer_id" = d."customer_id" FROM "domains" d WHERE d."id" = m."domain_id";
ALTER TABLE "mailboxes" ALTER COLUMN "customer_id" SET NOT NULL;
ALTER TABLE "mailboxes" ADD CONSTRAINT "mailboxes_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE INDEX "mailboxes_customer_id_address_idx" ON "mailboxes" ("customer_id", "address");

CREATE FUNCTION "mailbox_customer_from_domain"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT d."customer_id" INTO NEW."customer_id" FROM "domains" d WHERE d."id" = NEW."domain_id";
  RETURN NEW;
END $$;
CREATE TRIGGER "mailboxes_customer" BEFORE INSERT OR UPDATE OF "domain_id", "customer_id" ON "mailboxes"
  FOR EACH ROW EXECUTE FUNCTION "mailbox_customer_from_domain"();

CREATE FUNCTION "domain_customer_to_mailboxes"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "mailboxes" SET "customer_id" = NEW."customer_id" WHERE "domain_id" = NEW."id";
  RETURN NULL;
END $$;
CREATE TRIGGER "domains_customer" AFTER UPDATE OF "customer_id" ON "domains"
  FOR EACH ROW WHEN (OLD."customer_id" IS DISTINCT FROM NEW."customer_id") EXECUTE FUNCTION "domain_customer_to_mailboxes"();
