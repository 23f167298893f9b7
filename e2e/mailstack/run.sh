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

# This run's id: every mail stack the suite's tests start lives in a temporary folder named
# mailstack-<run id>-* (harness.ts reads MAILSTACK_RUN_ID), so the leftover check below counts only
# the daemons this run started, never those of another run going on at the same time.
MAILSTACK_RUN_ID="r$(date +%s)$$$RANDOM"
export MAILSTACK_RUN_ID

# Daemons of this run: a Dovecot started with a config in this run's folders, or a Postfix process
# whose MAIL_CONFIG points there (pids only; nothing is killed here).
suite_daemons() {
  local d
  for d in /proc/[0-9]*; do
    if tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -q "/mailstack-${MAILSTACK_RUN_ID}-[^/ ]*/etc/dovecot/" ||
      tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -q "^MAIL_CONFIG=.*/mailstack-${MAILSTACK_RUN_ID}-"; then
      echo "${d#/proc/}"
    fi
  done | sort
}
started=$SECONDS
set +e
npx vitest run --config e2e/mailstack/vitest.config.ts "$@"
rc=$?
set -e
echo "mail-stack suite: ${SECONDS}s wall time (started ${started}s into the script)"
# Every daemon this run started must be gone, whatever the tests did.
sleep 1
left="$(suite_daemons | grep . || true)"
if [ -n "$left" ]; then
  echo "mail-stack suite: daemons of run ${MAILSTACK_RUN_ID} still running after the tests:" >&2
  ps -o pid,ppid,args -p "$(echo "$left" | paste -sd,)" >&2 || true
  exit 1
fi
exit "$rc"
