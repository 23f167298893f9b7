import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './index.js';

/** The committed schema.graphql: the Pothos schema, sorted, printed. */
export function printSortedSchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
