// SvelteKit configuration. The panel is built with adapter-node into web/build: `build/handler.js`
// exports `handler`, which the API server mounts for every path other than /graphql and /healthz
// (scripts/start.ts, api/src/app.ts); `build/index.js` runs it standalone (the compose `web` service).
import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ out: 'build', precompress: false }),
  },
};

export default config;
