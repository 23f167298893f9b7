-- Issue 16: bulk migrations. A CSV of migrations started together is one bulk_migrations row; each
-- CSV row is an ordinary migration pointing at it. The gate columns let every worker share one
-- concurrency limit per source host (and a global one) through PostgreSQL (worker/src/migration/gate.ts).
CREATE TABLE "bulk_migrations" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "customer_id" UUID,
    "created_by_type" TEXT NOT NULL,
    "created_by_id" TEXT,
    "created_by_label" TEXT NOT NULL,
    "name" TEXT,
    "rows" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "bulk_migrations_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "bulk_migrations_customer_id_created_at_idx" ON "bulk_migrations"("customer_id", "created_at");
ALTER TABLE "bulk_migrations" ADD CONSTRAINT "bulk_migrations_customer_id_fkey" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "migrations" ADD COLUMN "bulk_migration_id" UUID;
ALTER TABLE "migrations" ADD COLUMN "gate_waiting_since" TIMESTAMPTZ(3);
ALTER TABLE "migrations" ADD COLUMN "gate_slot_at" TIMESTAMPTZ(3);
CREATE INDEX "migrations_bulk_migration_id_idx" ON "migrations"("bulk_migration_id");
ALTER TABLE "migrations" ADD CONSTRAINT "migrations_bulk_migration_id_fkey" FOREIGN KEY ("bulk_migration_id") REFERENCES "bulk_migrations"("id") ON DELETE SET NULL ON UPDATE CASCADE;
