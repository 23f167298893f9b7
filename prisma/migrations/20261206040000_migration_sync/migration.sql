-- Keep-in-sync migrations: after the first verified copy a migration stays SYNCING (phase IDLE between
-- syncs) and copies new mail every sync_interval_minutes until finishMigration or cancelMigration.
ALTER TYPE "MigrationStatus" ADD VALUE 'SYNCING' AFTER 'RUNNING';
ALTER TYPE "MigrationPhase" ADD VALUE 'IDLE';

ALTER TABLE "migrations"
  ADD COLUMN "sync_interval_minutes" INTEGER,
  ADD COLUMN "sync_count" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "last_sync_at" TIMESTAMPTZ(3),
  ADD COLUMN "last_sync_messages" INTEGER,
  ADD COLUMN "last_sync_bytes" BIGINT,
  ADD COLUMN "sync_base_messages" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "sync_base_bytes" BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN "next_sync_at" TIMESTAMPTZ(3),
  ADD COLUMN "finish_requested" BOOLEAN NOT NULL DEFAULT false;
