-- A panel login as its owner sees it (api/src/schema/login-session.ts): one row per refresh-token
-- family (id = refresh_tokens.family_id), with where it was opened from and when it was last used.
-- Whether it is still open is the family's refresh tokens' business (revoked_at, expires_at); ending
-- it revokes them, which the revocation trigger announces (sockets closed at once).
CREATE TABLE "login_sessions" (
    "id" UUID NOT NULL,
    "user_id" UUID,
    "mailbox_id" UUID,
    "client_ip" TEXT,
    "user_agent" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "login_sessions_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "login_sessions_one_owner" CHECK (("user_id" IS NULL) <> ("mailbox_id" IS NULL))
);
CREATE INDEX "login_sessions_user_id_idx" ON "login_sessions"("user_id");
CREATE INDEX "login_sessions_mailbox_id_idx" ON "login_sessions"("mailbox_id");
ALTER TABLE "login_sessions" ADD CONSTRAINT "login_sessions_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "login_sessions" ADD CONSTRAINT "login_sessions_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;
