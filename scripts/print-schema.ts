// `npm run print-schema`: write schema.graphql from the Pothos schema (sorted). A test fails when the
// committed file differs from what this prints.
import { writeFileSync } from 'node:fs';

process.env.DATABASE_URL ??= 'postgresql://unused@127.0.0.1:1/unused';
const { printSortedSchema } = await import('@mailpanel/api/schema/print');
writeFileSync('schema.graphql', printSortedSchema());
console.log('schema.graphql written');
