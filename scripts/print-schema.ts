// `npm run print-schema`: write schema.graphql from the Pothos schema (sorted). A test fails when the
// committed file differs from what this prints.
import { writeFileSync } from 'node:fs';
import { printSchema, lexicographicSortSchema } from 'graphql';

process.env.DATABASE_URL ??= 'postgresql://unused@127.0.0.1:1/unused';
const { schema } = await import('@mailpanel/api/schema/index');
writeFileSync('schema.graphql', printSchema(lexicographicSortSchema(schema)) + '\n');
console.log('schema.graphql written');
