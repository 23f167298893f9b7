-- Internationalised domains (issue 12, item 6). "name" stays the A-label (xn--…): the one unique,
-- stored name the daemons use for paths, DNS and DKIM. "name_unicode" is its U-label (what people
-- type and read), written by the API from the same normalisation (core/src/validation.ts); for an
-- ASCII domain both are equal. The views expose both forms so Postfix and Dovecot accept either
-- while always answering with the A-label (one home folder, one quota).
ALTER TABLE "domains" ADD COLUMN "name_unicode" TEXT;
UPDATE "domains" SET "name_unicode" = "name";
ALTER TABLE "domains" ALTER COLUMN "name_unicode" SET NOT NULL;
CREATE UNIQUE INDEX "domains_name_unicode_key" ON "domains"("name_unicode");
-- A row written without the U-label (SQL fixtures, scripts: only the API knows the IDNA mapping)
-- gets its stored name, which is right for every ASCII domain.
CREATE FUNCTION "domain_name_unicode_default"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."name_unicode" := COALESCE(NEW."name_unicode", NEW."name");
  RETURN NEW;
END $$;
CREATE TRIGGER "domains_name_unicode" BEFORE INSERT ON "domains"
  FOR EACH ROW EXECUTE FUNCTION "domain_name_unicode_default"();

CREATE OR REPLACE VIEW "mail_domains" AS
  SELECT d.name AS domain, d.name_unicode AS domain_unicode FROM domains d WHERE d.enabled;

CREATE OR REPLACE VIEW "mail_users" AS
  SELECT m.address AS email, m.local_part, d.name AS domain,
         '{ARGON2ID}' || m.password_hash AS password, m.quota_mb,
         d.name_unicode AS domain_unicode
    FROM mailboxes m JOIN domains d ON d.id = m.domain_id
   WHERE d.enabled AND m.status = 'ACTIVE' AND m.provisioning <> 'DELETING';
