// Everything under (app) needs a session; without one, go to the login page and come back after.
import { redirect } from '@sveltejs/kit';
import { auth } from '$lib/auth.svelte';

export function load({ url }) {
  if (!auth.session) redirect(307, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
}
