#!/bin/sh
# Entry point of the panel image. The first argument names the process:
#   api     the API server: GraphQL + graphql-ws + GraphiQL, /healthz, and the built panel (web/build)
#           mounted on the same origin. Runs migrations and creates the first admin on start.
#   worker  the pg-boss worker. Until the code has a worker-only entry (scripts/worker.ts), this runs the
#           same all-in-one launcher as `api` (scripts/start.ts: API + worker in one process); pg-boss
#           shares jobs between instances (SKIP LOCKED), so two such processes are safe, just not lean.
#   web     the panel alone (SvelteKit adapter-node server); forwards /graphql over HTTP to API_URL.
# Anything else is executed as given (e.g. `sh`, `npm run migrate`).
set -eu
cd /app

case "${1:-api}" in
  api)
    exec node --import tsx scripts/start.ts
    ;;
  worker)
    if [ -f scripts/worker.ts ]; then
      exec node --import tsx scripts/worker.ts
    fi
    exec node --import tsx scripts/start.ts
    ;;
  web)
    exec node web/build/index.js
    ;;
  *)
    exec "$@"
    ;;
esac
