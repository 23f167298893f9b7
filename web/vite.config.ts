import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// In `npm run dev -w web`, /graphql (HTTP and graphql-ws) goes to the API started with `npm run dev`.
const api = process.env.API_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: true },
      '/healthz': { target: api, changeOrigin: true },
    },
  },
});
