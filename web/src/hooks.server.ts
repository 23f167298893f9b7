// Server hook. When the built panel is mounted inside the API server (scripts/start.ts), /graphql and
// /healthz never reach SvelteKit, so this hook only passes requests through. When the panel runs
// standalone (`node web/build/index.js`, the compose `web` service) with API_URL set, it forwards
// same-origin GraphQL-over-HTTP requests to the API so the panel's `fetch('/graphql')` works.
// WebSocket subscriptions are not forwarded here: put a reverse proxy in front, or use the API's origin.
import type { Handle } from '@sveltejs/kit';
import { env } from '$env/dynamic/private';

const FORWARDED_PATHS = new Set(['/graphql', '/healthz']);
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'accept-encoding', 'content-length'];

export const handle: Handle = async ({ event, resolve }) => {
  const upstream = env.API_URL;
  if (!upstream || !FORWARDED_PATHS.has(event.url.pathname)) return resolve(event);

  const { request } = event;
  const headers = new Headers(request.headers);
  for (const h of HOP_BY_HOP) headers.delete(h);
  const prior = request.headers.get('x-forwarded-for');
  const client = event.getClientAddress();
  headers.set('x-forwarded-for', prior ? `${prior}, ${client}` : client);
  headers.set('x-forwarded-host', event.url.host);
  headers.set('x-forwarded-proto', event.url.protocol.replace(':', ''));

  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  let answer: Response;
  try {
    answer = await fetch(new URL(event.url.pathname + event.url.search, upstream), {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
      redirect: 'manual',
    });
  } catch {
    return new Response(JSON.stringify({ errors: [{ message: 'The API is not reachable.' }] }), {
      status: 502,
      headers: { 'content-type': 'application/json' },
    });
  }
  // fetch() has already decoded the body: drop the headers that describe the encoded one.
  const out = new Headers(answer.headers);
  out.delete('content-encoding');
  out.delete('content-length');
  out.delete('transfer-encoding');
  return new Response(answer.body, { status: answer.status, statusText: answer.statusText, headers: out });
};
