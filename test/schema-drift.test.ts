// Guards against drift between prisma/schema.prisma (what the code believes) and the SQL migrations
// (what the database is): after migrating, every model/field must exist with the right type,
// nullability and uniqueness, every column must be known to Prisma, and enum values must match.
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { db } from '../core/src/db.js';
import { getDatamodel } from '../core/src/generated/pothos-types.js';
import * as enums from '../core/src/generated/prisma/enums.js';

type RuntimeField = { name: string; kind: string; type: string; dbName?: string };
type RuntimeModel = { fields: RuntimeField[]; dbName?: string };

const SQL_TYPES: Record<string, string[]> = {
  String: ['text', 'uuid'],
  Int: ['integer'],
  BigInt: ['bigint'],
  Boolean: ['boolean'],
  DateTime: ['timestamp with time zone'],
  Json: ['jsonb'],
  Float: ['double precision'],
};

describe('schema.prisma and the migrated database agree', async () => {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  const columns = (
    await client.query<{ table_name: string; column_name: string; data_type: string; udt_name: string; is_nullable: string }>(
      `SELECT table_name, column_name, data_type, udt_name, is_nullable FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_schema='public' AND table_type='BASE TABLE')`,
    )
  ).rows;
  const uniques = (
    await client.query<{ table: string; column: string }>(
      `SELECT t.relname AS table, a.attname AS column FROM pg_index i
         JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
        WHERE n.nspname = 'public' AND i.indisunique AND i.indnatts = 1`,
    )
  ).rows;
  const enumRows = (
    await client.query<{ name: string; value: string }>(
      `SELECT t.typname AS name, e.enumlabel AS value FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid ORDER BY t.typname, e.enumsortorder`,
    )
  ).rows;
  await client.end();

  const runtime = (db() as unknown as { _runtimeDataModel: { models: Record<string, RuntimeModel> } })._runtimeDataModel.models;
  const logical = getDatamodel().datamodel.models as unknown as Record<string, { fields: { name: string; kind: string; type: string; isRequired: boolean; isList: boolean; isUnique: boolean; isId: boolean }[] }>;

  for (const [model, rm] of Object.entries(runtime)) {
    const table = rm.dbName ?? model;
    it(`${model} ↔ table ${table}`, () => {
      const tableColumns = columns.filter((c) => c.table_name === table);
      expect(tableColumns.length, `table ${table} exists`).toBeGreaterThan(0);
      const scalars = rm.fields.filter((f) => f.kind !== 'object');
      for (const f of scalars) {
        const column = f.dbName ?? f.name;
        const col = tableColumns.find((c) => c.column_name === column);
        expect(col, `${table}.${column} exists`).toBeDefined();
        const meta = logical[model]!.fields.find((x) => x.name === f.name)!;
        if (meta.isList) expect(col!.data_type, `${table}.${column} is an array`).toBe('ARRAY');
        else if (meta.kind === 'enum') expect(col!.udt_name, `${table}.${column} enum`).toBe(meta.type);
        else expect(SQL_TYPES[meta.type], `${table}.${column} type ${col!.data_type}`).toContain(col!.data_type);
        if (!meta.isList) expect(col!.is_nullable === 'NO', `${table}.${column} nullability`).toBe(meta.isRequired);
        if (meta.isUnique || meta.isId) expect(uniques.some((u) => u.table === table && u.column === column), `${table}.${column} unique`).toBe(true);
      }
      const known = new Set(scalars.map((f) => f.dbName ?? f.name));
      expect(tableColumns.map((c) => c.column_name).filter((c) => !known.has(c)), `columns unknown to Prisma in ${table}`).toEqual([]);
    });
  }

  it('enum values match', () => {
    for (const [name, values] of Object.entries(enums)) {
      expect(enumRows.filter((r) => r.name === name).map((r) => r.value), name).toEqual(Object.values(values as object));
    }
  });
});
