# syntax=docker/dockerfile:1
# One image for the panel's processes: the API (+ GraphiQL + the built panel on one origin), the worker,
# and the standalone SvelteKit server. docker/entrypoint.sh picks the process: `api`, `worker`, `web`.
# docker-compose.yml builds it; `docker build -t mailpanel .` works on its own too.

# The base image's Node is the one package.json pins (devDependencies.node, which npm scripts run on
# outside the image): the runtime stage has no dev dependencies, so the image's own Node runs the panel.
# ---- build: install everything (dev deps included: vite/kit build the panel), generate, build web ----
FROM node:24.21.0-bookworm-slim AS build
# Toolchain only for native modules that must compile from source (argon2 ships prebuilt binaries;
# see STACK.md for why a source build may be needed). Kept out of the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 \
    PRISMA_SCHEMA_ENGINE_BINARY=/bin/true
# Manifests first so the dependency layer is cached until they change. `postinstall` runs
# `prisma generate`, which needs the Prisma schema and config.
COPY package.json package-lock.json prisma.config.ts ./
COPY core/package.json core/
COPY api/package.json api/
COPY worker/package.json worker/
COPY web/package.json web/
COPY prisma/ prisma/
RUN npm ci --include=dev --no-audit --no-fund
COPY . .
RUN npm run build:web \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM node:24.21.0-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data \
    MAIL_ROOT=/var/vmail
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN install -d -o node -g node /data /var/vmail \
 && chmod 0755 /app/docker/entrypoint.sh
USER node
VOLUME ["/data", "/var/vmail"]
EXPOSE 4000 3000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["api"]
