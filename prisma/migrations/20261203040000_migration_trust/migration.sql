-- Issue 13, "Migration you can trust": a final VERIFYING phase, truthful timeout classes, the retry
-- schedule the panel shows (attempt n of m, next retry), per-folder verification results, and
-- per-folder target name overrides given at start.
ALTER TYPE "MigrationPhase" ADD VALUE 'VERIFYING' BEFORE 'FINISHED';
ALTER TYPE "MigrationErrorCode" ADD VALUE 'CONNECT_TIMEOUT';
ALTER TYPE "MigrationErrorCode" ADD VALUE 'GREETING_TIMEOUT';
ALTER TYPE "MigrationErrorCode" ADD VALUE 'VERIFY_FAILED';

ALTER TABLE "migrations"
  ADD COLUMN "max_attempts" INTEGER NOT NULL DEFAULT 7,
  ADD COLUMN "next_retry_at" TIMESTAMPTZ(3),
  ADD COLUMN "folder_overrides" JSONB,
  ADD COLUMN "verified_at" TIMESTAMPTZ(3),
  ADD COLUMN "verify_missing" INTEGER,
  ADD COLUMN "verify_extra" INTEGER,
  ADD COLUMN "verify_repaired" INTEGER;

ALTER TABLE "migration_folders"
  ADD COLUMN "verified_source" INTEGER,
  ADD COLUMN "verified_target" INTEGER,
  ADD COLUMN "verify_missing" INTEGER,
  ADD COLUMN "verify_extra" INTEGER;
