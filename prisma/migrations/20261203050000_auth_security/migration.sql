-- Login throttle counters, shared by every API instance (api/src/auth/login-throttle.ts).
-- key = sha256 of "pair:<account>|<address>", "ip:<address>" or "account:<account>": login names typed
-- by someone else (a password pasted into the e-mail field) are never stored as text.
CREATE TABLE "login_throttle" (
    "key" TEXT NOT NULL,
    "failures" INTEGER NOT NULL,
    "window_started_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "login_throttle_pkey" PRIMARY KEY ("key")
);

CREATE INDEX "login_throttle_window_started_at_idx" ON "login_throttle"("window_started_at");

-- Revocation: whenever a login loses its rights (user disabled, deleted, role or customer changed;
-- mailbox disabled, being deleted, deleted; domain disabled or deleted; API token revoked or deleted;
-- a session's refresh tokens revoked), every API instance hears it at once through the project's one
-- NOTIFY channel (core/src/pubsub.ts, same JSON shape) and closes the sockets and forgets the cached
-- verdicts concerned (api/src/auth/revocation.ts). A trigger rather than code in each mutation, so
-- no path that revokes (API, worker, cascades, psql) can forget to say so. NOTIFY is sent at commit
-- and identical payloads in one transaction are sent once (a family of 20 refresh tokens = 1 event).
CREATE FUNCTION "mailpanel_notify_revoked"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    kind TEXT := TG_ARGV[0];
    rec RECORD;
    subject TEXT;
BEGIN
    -- Nested IFs: PL/pgSQL prepares an expression only when it runs, and each table has only its own columns.
    IF TG_OP = 'UPDATE' THEN
        IF kind = 'user' THEN
            IF NOT (NEW."disabled" AND NOT OLD."disabled" OR NEW."role" IS DISTINCT FROM OLD."role" OR NEW."customer_id" IS DISTINCT FROM OLD."customer_id") THEN RETURN NULL; END IF;
        ELSIF kind = 'mailbox' THEN
            IF NOT (NEW."status" <> 'ACTIVE' AND OLD."status" = 'ACTIVE' OR NEW."provisioning" = 'DELETING' AND OLD."provisioning" <> 'DELETING' OR NEW."domain_id" IS DISTINCT FROM OLD."domain_id") THEN RETURN NULL; END IF;
        ELSIF kind = 'domain' THEN
            IF NOT (NOT NEW."enabled" AND OLD."enabled" OR NEW."customer_id" IS DISTINCT FROM OLD."customer_id") THEN RETURN NULL; END IF;
        ELSE
            IF NOT (NEW."revoked_at" IS NOT NULL AND OLD."revoked_at" IS NULL) THEN RETURN NULL; END IF;
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
    IF kind = 'session' THEN
        subject := rec."family_id"::text;
    ELSE
        subject := rec."id"::text;
    END IF;
    PERFORM pg_notify('mailpanel_events', json_build_object('topic', 'auth.revoked', 'payload', json_build_object('kind', kind, 'id', subject))::text);
    RETURN NULL;
END $$;

CREATE TRIGGER "users_notify_revoked" AFTER UPDATE OR DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "mailpanel_notify_revoked"('user');
CREATE TRIGGER "mailboxes_notify_revoked" AFTER UPDATE OR DELETE ON "mailboxes" FOR EACH ROW EXECUTE FUNCTION "mailpanel_notify_revoked"('mailbox');
CREATE TRIGGER "domains_notify_revoked" AFTER UPDATE OR DELETE ON "domains" FOR EACH ROW EXECUTE FUNCTION "mailpanel_notify_revoked"('domain');
CREATE TRIGGER "api_tokens_notify_revoked" AFTER UPDATE OR DELETE ON "api_tokens" FOR EACH ROW EXECUTE FUNCTION "mailpanel_notify_revoked"('apiToken');
CREATE TRIGGER "refresh_tokens_notify_revoked" AFTER UPDATE OR DELETE ON "refresh_tokens" FOR EACH ROW EXECUTE FUNCTION "mailpanel_notify_revoked"('session');
