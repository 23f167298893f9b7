-- Initial schema: tenants, panel users, tokens, domains, mailboxes, forwards, autoresponders, audit.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TYPE "Role" AS ENUM ('ADMIN', 'CUSTOMER');
CREATE TYPE "MailboxStatus" AS ENUM ('ACTIVE', 'DISABLED');
CREATE TYPE "ProvisioningState" AS ENUM ('PENDING', 'READY', 'FAILED', 'DELETING');
CREATE TYPE "ApiTokenScope" AS ENUM ('FULL', 'READ_ONLY');

CREATE TABLE "hosting_packages" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "max_domains" INTEGER NOT NULL DEFAULT 0,
    "max_mailboxes" INTEGER NOT NULL DEFAULT 0,
    "max_forwards" INTEGER NOT NULL DEFAULT 0,
    "total_quota_mb" INTEGER NOT NULL DEFAULT 0,
    "max_emails_per_hour" INTEGER NOT NULL DEFAULT 0,
    "max_emails_per_hour_mailbox" INTEGER NOT NULL DEFAULT 0,
    "max_emails_per_hour_domain" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "hosting_packages_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "hosting_packages_name_key" ON "hosting_packages"("name");

CREATE TABLE "customers" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "email" TEXT,
    "package_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "customers_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "customers_name_key" ON "customers"("name");
CREATE INDEX "customers_package_id_idx" ON "customers"("package_id");
ALTER TABLE "customers" ADD CONSTRAINT "customers_package_id_fkey" FOREIGN KEY ("package_id") REFERENCES "hosting_packages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "users" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "customer_id" UUID,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "users_email_key" ON "users"("email");
CREATE INDEX "users_customer_id_idx" ON "users"("customer_id");
ALTER TABLE "users" ADD CONSTRAINT "users_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "api_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "token_hash" TEXT NOT NULL,
    "scope" "ApiTokenScope" NOT NULL DEFAULT 'FULL',
    "expires_at" TIMESTAMPTZ(3),
    "last_used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "api_tokens_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "api_tokens_token_hash_key" ON "api_tokens"("token_hash");
CREATE INDEX "api_tokens_user_id_idx" ON "api_tokens"("user_id");
ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "domains" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "customer_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "domains_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "domains_name_key" ON "domains"("name");
CREATE INDEX "domains_customer_id_idx" ON "domains"("customer_id");
ALTER TABLE "domains" ADD CONSTRAINT "domains_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "mailboxes" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "local_part" TEXT NOT NULL,
    "domain_id" UUID NOT NULL,
    "address" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "quota_mb" INTEGER NOT NULL DEFAULT 0,
    "status" "MailboxStatus" NOT NULL DEFAULT 'ACTIVE',
    "provisioning" "ProvisioningState" NOT NULL DEFAULT 'PENDING',
    "provisioning_error" TEXT,
    "quota_used_bytes" BIGINT NOT NULL DEFAULT 0,
    "quota_messages" INTEGER NOT NULL DEFAULT 0,
    "quota_updated_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "mailboxes_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "mailboxes_address_key" ON "mailboxes"("address");
CREATE UNIQUE INDEX "mailboxes_domain_id_local_part_key" ON "mailboxes"("domain_id", "local_part");
CREATE INDEX "mailboxes_created_at_idx" ON "mailboxes"("created_at");
-- Text search in the mailboxes table (ILIKE '%term%') must not scan 100k rows.
CREATE INDEX "mailboxes_address_trgm_idx" ON "mailboxes" USING gin ("address" gin_trgm_ops);
ALTER TABLE "mailboxes" ADD CONSTRAINT "mailboxes_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "refresh_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "family_id" UUID NOT NULL,
    "token_hash" TEXT NOT NULL,
    "user_id" UUID,
    "mailbox_id" UUID,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "refresh_tokens_token_hash_key" ON "refresh_tokens"("token_hash");
CREATE INDEX "refresh_tokens_family_id_idx" ON "refresh_tokens"("family_id");
CREATE INDEX "refresh_tokens_user_id_idx" ON "refresh_tokens"("user_id");
CREATE INDEX "refresh_tokens_mailbox_id_idx" ON "refresh_tokens"("mailbox_id");
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "autoresponders" (
    "mailbox_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "subject" TEXT NOT NULL DEFAULT '',
    "message" TEXT NOT NULL DEFAULT '',
    "starts_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "autoresponders_pkey" PRIMARY KEY ("mailbox_id")
);
ALTER TABLE "autoresponders" ADD CONSTRAINT "autoresponders_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "forwards" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "domain_id" UUID NOT NULL,
    "local_part" TEXT NOT NULL,
    "source" TEXT NOT NULL,
    "destinations" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "forwards_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "forwards_source_key" ON "forwards"("source");
CREATE INDEX "forwards_domain_id_idx" ON "forwards"("domain_id");
CREATE INDEX "forwards_created_at_idx" ON "forwards"("created_at");
ALTER TABLE "forwards" ADD CONSTRAINT "forwards_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

CREATE TABLE "audit_events" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "actor_type" TEXT NOT NULL,
    "actor_id" TEXT,
    "actor_label" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "target_type" TEXT NOT NULL,
    "target_id" TEXT,
    "target_label" TEXT,
    "customer_id" UUID,
    "client_ip" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "audit_events_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "audit_events_customer_id_created_at_idx" ON "audit_events"("customer_id", "created_at");
CREATE INDEX "audit_events_created_at_idx" ON "audit_events"("created_at");

-- What Postfix and Dovecot read (through the read-only role mail_reader, when it exists).
-- A mailbox being deleted (provisioning DELETING) or disabled, or whose domain is disabled, drops
-- out of these views at once: no reload anywhere.
CREATE VIEW "mail_domains" AS
  SELECT d.name AS domain FROM domains d WHERE d.enabled;

CREATE VIEW "mail_users" AS
  SELECT m.address AS email, m.local_part, d.name AS domain,
         '{ARGON2ID}' || m.password_hash AS password, m.quota_mb
    FROM mailboxes m JOIN domains d ON d.id = m.domain_id
   WHERE d.enabled AND m.status = 'ACTIVE' AND m.provisioning <> 'DELETING';

CREATE VIEW "mail_aliases" AS
  SELECT f.source, unnest(f.destinations) AS destination
    FROM forwards f JOIN domains d ON d.id = f.domain_id
   WHERE d.enabled;
