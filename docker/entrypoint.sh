#!/bin/sh
# Entry point of the panel image. The first argument names the process:
#   api     the API server: GraphQL + graphql-ws + GraphiQL, /healthz, and the built panel (web/build)
#           mounted on the same origin. Runs migrations and creates the first admin on start.
#           With RUN_WORKER=false (as in docker-compose.yml) it runs no jobs.
#   worker  the pg-boss worker alone (scripts/worker.ts); healthy while $DATA_DIR/worker-heartbeat is fresh.
#   web     the panel alone (SvelteKit adapter-node server); forwards /graphql over HTTP to API_URL.
# Anything else is executed as given (e.g. `sh`, `npm run migrate`).
set -eu
cd /app

case "${1:-api}" in
  api)
    exec node --import tsx scripts/start.ts
    ;;
  worker)
    exec node --import tsx scripts/worker.ts
    ;;
  web)
    exec node web/build/index.js
    ;;
  *)
    exec "$@"
    ;;
esac
