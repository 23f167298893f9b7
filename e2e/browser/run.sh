#!/usr/bin/env bash
# The browser suite: Debian's Chromium driven by playwright-core against the real panel on the
# embedded default. Installs Chromium when missing (CI starts from a fresh machine) and builds the
# panel when web/build is missing or older than its sources. Extra arguments go to vitest.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
  echo "[browser] installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium
fi

# The migration test's source IMAP server is a real Dovecot on loopback.
if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/bin/doveadm ]; then
  echo "[browser] installing dovecot (migration source)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends dovecot-core dovecot-imapd
fi

if [ ! -f web/build/handler.js ] || [ -n "$(find web/src web/static web/svelte.config.js web/vite.config.ts schema.graphql -newer web/build/handler.js -print -quit)" ]; then
  echo "[browser] building the panel"
  npm run build -w web --silent
fi

mkdir -p e2e/artifacts
exec npx vitest run --config e2e/browser/vitest.config.ts "$@"
