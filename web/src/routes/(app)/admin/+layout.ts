// Administration screens are for administrators only (the API refuses the rest anyway).
import { redirect } from '@sveltejs/kit';
import { auth } from '$lib/auth.svelte';

export function load() {
  if (auth.session?.viewer.kind !== 'ADMIN') redirect(307, '/');
}
