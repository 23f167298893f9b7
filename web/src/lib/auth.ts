// Login and logout against the API. `login` returns a union: the session, or a typed error
// (AuthenticationError, TooManyAttemptsError, ValidationError — all implement `Error`).
import { graphqlRequest } from './graphql';
import type { StoredSession } from './session';

export const LOGIN_MUTATION = /* GraphQL */ `
  mutation Login($email: String!, $password: String!) {
    login(email: $email, password: $password) {
      __typename
      ... on MutationLoginSuccess {
        session {
          accessToken
          refreshToken
          viewer {
            kind
            label
          }
        }
      }
      ... on Error {
        message
      }
      ... on ValidationError {
        fieldErrors {
          field
          message
        }
      }
    }
  }
`;

export const LOGOUT_MUTATION = /* GraphQL */ `
  mutation Logout($refreshToken: String!) {
    logout(refreshToken: $refreshToken)
  }
`;

type LoginPayload =
  | { __typename: 'MutationLoginSuccess'; session: StoredSession }
  | { __typename: string; message: string; fieldErrors?: { field: string; message: string }[] };

export type LoginResult =
  | { ok: true; session: StoredSession }
  | { ok: false; kind: string; message: string; fieldErrors: Record<string, string> };

export async function login(email: string, password: string, fetchImpl?: typeof fetch): Promise<LoginResult> {
  const data = await graphqlRequest<{ login: LoginPayload }>(LOGIN_MUTATION, { email, password }, { fetch: fetchImpl });
  const result = data.login;
  if ('session' in result) return { ok: true, session: result.session };
  const fieldErrors: Record<string, string> = {};
  for (const fe of result.fieldErrors ?? []) fieldErrors[fe.field] ??= fe.message;
  return { ok: false, kind: result.__typename, message: result.message, fieldErrors };
}

/** Ends the login server-side; failures are ignored (the local session is cleared regardless). */
export async function logout(refreshToken: string, fetchImpl?: typeof fetch): Promise<void> {
  await graphqlRequest(LOGOUT_MUTATION, { refreshToken }, { fetch: fetchImpl }).catch(() => undefined);
}
