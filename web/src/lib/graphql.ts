// A minimal GraphQL-over-HTTP client for the panel: same-origin POST to /graphql. The full panel
// (a later issue) moves to urql + graphql-ws for subscriptions; this stays the tiny path for the
// login screen, which must work before any client is configured.

export const GRAPHQL_ENDPOINT = '/graphql';

export interface GraphQLErrorPayload {
  message: string;
  extensions?: Record<string, unknown>;
}

/** The request failed as a whole: network down, non-GraphQL answer, or top-level `errors`. */
export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly errors: GraphQLErrorPayload[] = [],
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

export interface RequestOptions {
  /** Bearer access token, if the operation needs a logged-in viewer. */
  token?: string | null;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

export async function graphqlRequest<TData, TVariables extends Record<string, unknown> = Record<string, unknown>>(
  query: string,
  variables?: TVariables,
  options: RequestOptions = {},
): Promise<TData> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json',
  };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(GRAPHQL_ENDPOINT, {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, variables }),
      credentials: 'same-origin',
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error)?.name === 'AbortError') throw err;
    throw new GraphQLRequestError('The server could not be reached. Check your connection and try again.');
  }

  let body: { data?: TData | null; errors?: GraphQLErrorPayload[] };
  try {
    body = await response.json();
  } catch {
    throw new GraphQLRequestError(`The server answered with an unexpected response (HTTP ${response.status}).`, response.status);
  }
  if (body.errors?.length) {
    throw new GraphQLRequestError(body.errors.map((e) => e.message).join('\n'), response.status, body.errors);
  }
  if (body.data == null) {
    throw new GraphQLRequestError(`The server returned no data (HTTP ${response.status}).`, response.status);
  }
  return body.data;
}
