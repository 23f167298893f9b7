-- Bulk import (issue 16): a mailbox's display name (the CSV "name" column), and one row per import
-- holding its plan, progress and per-row outcomes. secrets_enc carries the passwords the job must hash
-- (AES-GCM, core/src/crypto/secretbox.ts) and is set to NULL when the job ends, whatever the outcome.
ALTER TABLE "mailboxes" ADD COLUMN "name" TEXT;

CREATE TYPE "BulkImportKind" AS ENUM ('MAILBOXES', 'FORWARDS');
CREATE TYPE "BulkImportStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

CREATE TABLE "bulk_imports" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "kind" "BulkImportKind" NOT NULL,
    "customer_id" UUID,
    "created_by_type" TEXT NOT NULL,
    "created_by_id" TEXT,
    "created_by_label" TEXT NOT NULL,
    "status" "BulkImportStatus" NOT NULL DEFAULT 'QUEUED',
    "total" INTEGER NOT NULL DEFAULT 0,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "created" INTEGER NOT NULL DEFAULT 0,
    "updated" INTEGER NOT NULL DEFAULT 0,
    "unchanged" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "rows" JSONB NOT NULL DEFAULT '[]',
    "secrets_enc" TEXT,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    CONSTRAINT "bulk_imports_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "bulk_imports_customer_id_created_at_idx" ON "bulk_imports"("customer_id", "created_at");
ALTER TABLE "bulk_imports" ADD CONSTRAINT "bulk_imports_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;
