-- Two-factor logins (TOTP, RFC 6238) for panel users and mailbox owners (api/src/auth/two-factor.ts).
-- One row per person: the secret encrypted with ENCRYPTION_KEY (core/src/crypto/secretbox.ts); a row
-- without enabled_at is an enrolment not yet confirmed with a code, and does not guard the login.
-- last_used_step is the newest 30-second step a code was accepted for: a code is never accepted twice.
CREATE TABLE "two_factor" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID,
    "mailbox_id" UUID,
    "secret_encrypted" TEXT NOT NULL,
    "enabled_at" TIMESTAMPTZ(3),
    "last_used_step" BIGINT NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "two_factor_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "two_factor_one_owner" CHECK (("user_id" IS NULL) <> ("mailbox_id" IS NULL))
);
CREATE UNIQUE INDEX "two_factor_user_id_key" ON "two_factor"("user_id");
CREATE UNIQUE INDEX "two_factor_mailbox_id_key" ON "two_factor"("mailbox_id");
ALTER TABLE "two_factor" ADD CONSTRAINT "two_factor_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "two_factor" ADD CONSTRAINT "two_factor_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Ten one-time recovery codes per enabled second factor, stored as sha256 (they are random, 50 bits).
CREATE TABLE "two_factor_recovery_codes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "two_factor_id" UUID NOT NULL,
    "code_hash" TEXT NOT NULL,
    "used_at" TIMESTAMPTZ(3),

    CONSTRAINT "two_factor_recovery_codes_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "two_factor_recovery_codes_two_factor_id_code_hash_key" ON "two_factor_recovery_codes"("two_factor_id", "code_hash");
ALTER TABLE "two_factor_recovery_codes" ADD CONSTRAINT "two_factor_recovery_codes_two_factor_id_fkey" FOREIGN KEY ("two_factor_id") REFERENCES "two_factor"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Who must use a second factor: everyone (panel_settings, one row) or a customer's users and mailbox owners.
ALTER TABLE "customers" ADD COLUMN "require_two_factor" BOOLEAN NOT NULL DEFAULT false;
CREATE TABLE "panel_settings" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "require_two_factor" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "panel_settings_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "panel_settings_one_row" CHECK ("id")
);
INSERT INTO "panel_settings" DEFAULT VALUES;
