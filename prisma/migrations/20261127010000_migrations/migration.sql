-- IMAP migrations into a mailbox, with per-folder UID checkpoints. The source password column holds
-- AES-GCM ciphertext (core/src/crypto/secretbox.ts) and is set to NULL when a migration ends.
CREATE TYPE "MigrationStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED');
CREATE TYPE "MigrationPhase" AS ENUM ('WAITING', 'CONNECTING', 'PLANNING', 'COPYING', 'FINISHED');
CREATE TYPE "MigrationSecurity" AS ENUM ('SSL', 'STARTTLS', 'NONE');
CREATE TYPE "MigrationEngine" AS ENUM ('IMAP_APPEND', 'MAILDIR', 'DOVEADM_IMPORT');
CREATE TYPE "MigrationErrorCode" AS ENUM ('AUTH_FAILED', 'TLS_FAILED', 'HOST_UNREACHABLE', 'CONNECTION_LOST', 'TIMEOUT', 'TARGET_OVER_QUOTA', 'SOURCE_ERROR', 'TARGET_ERROR', 'INTERNAL');
CREATE TYPE "MigrationFolderStatus" AS ENUM ('PENDING', 'COPYING', 'DONE', 'SKIPPED', 'FAILED');

CREATE TABLE "migrations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "mailbox_id" UUID NOT NULL,
    "created_by_type" TEXT NOT NULL,
    "created_by_id" TEXT,
    "created_by_label" TEXT NOT NULL,
    "source_host" TEXT NOT NULL,
    "source_port" INTEGER NOT NULL,
    "source_security" "MigrationSecurity" NOT NULL,
    "source_username" TEXT NOT NULL,
    "source_password_enc" TEXT,
    "status" "MigrationStatus" NOT NULL DEFAULT 'QUEUED',
    "phase" "MigrationPhase" NOT NULL DEFAULT 'WAITING',
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "engine" "MigrationEngine",
    "runs" INTEGER NOT NULL DEFAULT 1,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "folders_done" INTEGER NOT NULL DEFAULT 0,
    "folders_total" INTEGER NOT NULL DEFAULT 0,
    "messages_copied" INTEGER NOT NULL DEFAULT 0,
    "messages_skipped" INTEGER NOT NULL DEFAULT 0,
    "messages_failed" INTEGER NOT NULL DEFAULT 0,
    "messages_total" INTEGER NOT NULL DEFAULT 0,
    "bytes_copied" BIGINT NOT NULL DEFAULT 0,
    "error_code" "MigrationErrorCode",
    "error_message" TEXT,
    "lease_id" UUID,
    "heartbeat_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "migrations_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "migrations_mailbox_id_created_at_idx" ON "migrations"("mailbox_id", "created_at");
CREATE INDEX "migrations_status_idx" ON "migrations"("status");
ALTER TABLE "migrations" ADD CONSTRAINT "migrations_mailbox_id_fkey" FOREIGN KEY ("mailbox_id") REFERENCES "mailboxes"("id") ON DELETE CASCADE ON UPDATE CASCADE;

CREATE TABLE "migration_folders" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "migration_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "source_name" TEXT NOT NULL,
    "target_name" TEXT NOT NULL,
    "special_use" TEXT,
    "status" "MigrationFolderStatus" NOT NULL DEFAULT 'PENDING',
    "engine" "MigrationEngine",
    "uid_validity" BIGINT,
    "last_uid" BIGINT NOT NULL DEFAULT 0,
    "messages_total" INTEGER NOT NULL DEFAULT 0,
    "messages_copied" INTEGER NOT NULL DEFAULT 0,
    "messages_skipped" INTEGER NOT NULL DEFAULT 0,
    "messages_failed" INTEGER NOT NULL DEFAULT 0,
    "bytes_copied" BIGINT NOT NULL DEFAULT 0,
    "error_message" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "migration_folders_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "migration_folders_migration_id_source_name_key" ON "migration_folders"("migration_id", "source_name");
ALTER TABLE "migration_folders" ADD CONSTRAINT "migration_folders_migration_id_fkey" FOREIGN KEY ("migration_id") REFERENCES "migrations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
