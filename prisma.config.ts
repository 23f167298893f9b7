// Prisma CLI configuration. The CLI's migrate commands need network access to fetch the schema
// engine; this project applies prisma/migrations with its own runner (core/src/db/migrate.ts), so the
// URL is only needed by an operator who runs `prisma migrate deploy` against the same folder.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/unused' },
});
