-- Email security: DKIM keys per domain, the per-domain spam policy with white/blacklists, the
-- quarantine, and the outbound rate-limit counters of the Postfix policy service (with admin
-- overrides of the package limits per domain and mailbox).
CREATE TYPE "DkimAlgorithm" AS ENUM ('RSA_2048', 'ED25519');
CREATE TYPE "DkimKeyStatus" AS ENUM ('ACTIVE', 'PENDING', 'RETIRED');
CREATE TYPE "SpamAction" AS ENUM ('MARK', 'QUARANTINE', 'REJECT');
CREATE TYPE "SpamListKind" AS ENUM ('WHITELIST', 'BLACKLIST');
CREATE TYPE "QuarantineStatus" AS ENUM ('HELD', 'RELEASING', 'RELEASED', 'DELETED');
CREATE TYPE "RateLimitKind" AS ENUM ('MAILBOX', 'DOMAIN', 'CUSTOMER');

ALTER TABLE "domains" ADD COLUMN "spam_threshold" DOUBLE PRECISION NOT NULL DEFAULT 6,
    ADD COLUMN "spam_action" "SpamAction" NOT NULL DEFAULT 'MARK',
    ADD COLUMN "greylisting" BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN "spam_settings_updated_at" TIMESTAMPTZ(3),
    ADD COLUMN "max_emails_per_hour_override" INTEGER;

ALTER TABLE "mailboxes" ADD COLUMN "max_emails_per_hour_override" INTEGER;

-- The private key column holds AES-GCM ciphertext (core/src/crypto/secretbox.ts).
CREATE TABLE "dkim_keys" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "domain_id" UUID NOT NULL,
    "selector" TEXT NOT NULL,
    "algorithm" "DkimAlgorithm" NOT NULL,
    "status" "DkimKeyStatus" NOT NULL,
    "provisioning" "ProvisioningState" NOT NULL DEFAULT 'PENDING',
    "provisioning_error" TEXT,
    "public_key" TEXT,
    "private_key_enc" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(3),
    "retired_at" TIMESTAMPTZ(3),
    CONSTRAINT "dkim_keys_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "dkim_keys_domain_id_selector_key" ON "dkim_keys"("domain_id", "selector");
CREATE INDEX "dkim_keys_status_idx" ON "dkim_keys"("status");
-- At most one ACTIVE and one PENDING key per domain.
CREATE UNIQUE INDEX "dkim_keys_one_active_idx" ON "dkim_keys"("domain_id") WHERE "status" = 'ACTIVE';
CREATE UNIQUE INDEX "dkim_keys_one_pending_idx" ON "dkim_keys"("domain_id") WHERE "status" = 'PENDING';
ALTER TABLE "dkim_keys" ADD CONSTRAINT "dkim_keys_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "spam_list_entries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "domain_id" UUID NOT NULL,
    "kind" "SpamListKind" NOT NULL,
    "value" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "spam_list_entries_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "spam_list_entries_domain_id_value_key" ON "spam_list_entries"("domain_id", "value");
CREATE INDEX "spam_list_entries_domain_id_kind_value_idx" ON "spam_list_entries"("domain_id", "kind", "value");
ALTER TABLE "spam_list_entries" ADD CONSTRAINT "spam_list_entries_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "quarantine_items" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "domain_id" UUID NOT NULL,
    "mailbox_id" UUID,
    "recipient" TEXT NOT NULL,
    "sender" TEXT NOT NULL,
    "subject" TEXT NOT NULL,
    "score" DOUBLE PRECISION,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "storage_path" TEXT NOT NULL,
    "source_key" TEXT NOT NULL,
    "status" "QuarantineStatus" NOT NULL DEFAULT 'HELD',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(3),
    "deleted_at" TIMESTAMPTZ(3),
    CONSTRAINT "quarantine_items_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "quarantine_items_mailbox_id_source_key_key" ON "quarantine_items"("mailbox_id", "source_key");
CREATE INDEX "quarantine_items_domain_id_received_at_idx" ON "quarantine_items"("domain_id", "received_at");
CREATE INDEX "quarantine_items_mailbox_id_received_at_idx" ON "quarantine_items"("mailbox_id", "received_at");
CREATE INDEX "quarantine_items_status_received_at_idx" ON "quarantine_items"("status", "received_at");
ALTER TABLE "quarantine_items" ADD CONSTRAINT "quarantine_items_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "quarantine_items" ADD CONSTRAINT "quarantine_items_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Hot path of the policy service: one row per (kind, key, hour), upserted atomically.
CREATE TABLE "rate_limit_counters" (
    "kind" "RateLimitKind" NOT NULL,
    "key" UUID NOT NULL,
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "rate_limit_counters_pkey" PRIMARY KEY ("kind", "key", "window_start")
);
CREATE INDEX "rate_limit_counters_window_start_idx" ON "rate_limit_counters"("window_start");
