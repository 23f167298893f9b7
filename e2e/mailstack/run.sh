#!/usr/bin/env bash
# The mail-stack suite: installs Postfix/Dovecot when missing (Debian, root), then runs the tests
# against the real daemons. Extra arguments go to vitest (e.g. a file name or -t pattern).
# MAILSTACK_KEEP=1 keeps each run's temporary folder (configs, logs, Maildirs) for inspection.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Absolute paths: /usr/sbin may be missing from PATH in a non-login shell.
needs_install() {
  local f
  for f in /usr/sbin/dovecot /usr/bin/doveadm /usr/bin/sievec /usr/bin/sieve-test \
    /usr/sbin/postfix /usr/sbin/postmap /usr/lib/postfix/postfix-pgsql.so \
    /usr/lib/dovecot/modules/auth/libdriver_pgsql.so /usr/lib/dovecot/modules/lib90_sieve_plugin.so; do
    [ -e "$f" ] || return 0
  done
  getent passwd vmail >/dev/null || return 0
  return 1
}
if needs_install; then
  bash deploy/install-debian.sh
fi

exec npx vitest run --config e2e/mailstack/vitest.config.ts "$@"
