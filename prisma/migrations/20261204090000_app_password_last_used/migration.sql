-- When an app password last logged in, from Dovecot's auth-policy reports (api/src/dovecot-auth-policy.ts).
ALTER TABLE "app_passwords" ADD COLUMN "last_used_at" TIMESTAMPTZ(3);

-- The passdb answers which app password matched (app_password, a passdb extra field Dovecot hands to
-- its auth-policy report): the view gains its id, last, as CREATE OR REPLACE VIEW requires.
CREATE OR REPLACE VIEW "mail_app_passwords" AS
  SELECT u.email, u.local_part, u.domain, u.domain_unicode,
         '{ARGON2ID}' || ap.password_hash AS password, ap.lookup_hash, ap.scopes AS services, ap.id AS app_password_id
    FROM app_passwords ap JOIN mailboxes m ON m.id = ap.mailbox_id JOIN mail_users u ON u.email = m.address
   WHERE ap.revoked_at IS NULL;
