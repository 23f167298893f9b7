// /admin on its own: an administrator goes to the first administration screen; for anyone else the
// app layout answers "not found" (who may open /admin is decided there, from lib/navigation.ts).
import { redirect } from '@sveltejs/kit';
import { auth } from '$lib/auth.svelte';

export function load() {
  if (auth.session?.viewer.kind === 'ADMIN') redirect(307, '/admin/customers');
}
