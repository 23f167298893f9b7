// Client hook. Before the first page is chosen, the tab resumes the browser's login from the
// refresh-token cookie (a new tab or a reload has no session in memory), so the (app) guard sees it;
// the Loading state shows meanwhile. Without a login the guard sends the tab to /login as before.
import { mount, unmount } from 'svelte';
import './app.css';
import Loading from '$lib/components/Loading.svelte';
import { restoreSession } from '$lib/auth.svelte';

export async function init() {
  const target = document.createElement('div');
  document.body.append(target);
  const loading = mount(Loading, { target, props: { label: 'Loading…' } });
  try {
    await restoreSession();
  } finally {
    void unmount(loading);
    target.remove();
  }
}
