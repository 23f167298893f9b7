import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { printSortedSchema } from '../api/src/schema/print.js';

it('schema.graphql is the printed Pothos schema (run `npm run print-schema` after changing the API)', () => {
  expect(readFileSync('schema.graphql', 'utf8')).toBe(printSortedSchema());
});
