// Typed GraphQL documents: gql.tada reads the introspection generated from the repository's
// schema.graphql (`npm run gql -w web` rewrites graphql-env.d.ts after the schema changes). Each
// operation lives next to the component that uses it. Fragment masking is off: a fragment is just a
// shared selection here.
import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

export const graphql = initGraphQLTada<{
  introspection: introspection;
  disableMasking: true;
  scalars: { DateTime: string; JSON: unknown; ID: string };
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';

/** Every mutation selects this on its result union, so any expected failure can be shown. */
export const ErrorFields = graphql(`
  fragment ErrorFields on Error {
    __typename
    message
    ... on ValidationError { fieldErrors { field code message } }
    ... on LimitExceededError { field limit max }
  }
`);
