#!/usr/bin/env bash
# Installs the real mail daemons (Postfix, Dovecot + Pigeonhole, rspamd, Redis, swaks) on Debian 12
# and creates the vmail user/group (5000:5000). Idempotent: safe to run again; it only calls
# apt-get when a package is missing, and `apt-get update` only when the package lists are absent
# or the install fails with them as they are.
#
#   bash deploy/install-debian.sh                 # everything (a mail host; the mail-stack tests)
#   bash deploy/install-debian.sh dovecot-core …  # only these (each must be in PACKAGES below):
#                                                 # the images in deploy/docker/* use this form
# No service is started here (and none should be: Debian's policy-rc.d refuses, and the panel's
# tests start the daemons from their own rendered configs).
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-debian.sh: must run as root" >&2
  exit 1
fi

PACKAGES=(
  dovecot-core dovecot-imapd dovecot-lmtpd dovecot-sieve dovecot-pgsql
  postfix postfix-pgsql
  rspamd redis-server
  swaks
)
if [ "$#" -gt 0 ]; then
  for p in "$@"; do
    case " ${PACKAGES[*]} " in
      *" $p "*) ;;
      *) echo "install-debian.sh: $p is not one of the mail-stack packages (${PACKAGES[*]})" >&2; exit 2 ;;
    esac
  done
  PACKAGES=("$@")
fi
VMAIL_UID="${VMAIL_UID:-5000}"
VMAIL_GID="${VMAIL_GID:-5000}"

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-debian.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks a debconf question on install; answer it up front ("No configuration": the panel
  # renders its own main.cf into a separate config directory).
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Package scripts must not start the daemons with Debian's default configs (on a machine without
  # systemd they would run through /etc/init.d). Without a policy-rc.d, put a temporary one in place.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  install() { apt-get install -y --no-install-recommends "${missing[@]}"; }
  if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e '^lock$' -e '^partial$' || true)" ]; then
    apt-get update
    install
  elif ! install; then
    apt-get update
    install
  fi
else
  echo "install-debian.sh: all packages present"
fi

if ! getent group vmail >/dev/null; then
  groupadd -g "$VMAIL_GID" vmail
fi
if ! getent passwd vmail >/dev/null; then
  useradd -u "$VMAIL_UID" -g vmail -M -d /nonexistent -s /usr/sbin/nologin vmail
fi
echo "install-debian.sh: vmail is $(id vmail)"

# The commands each package must have brought (PATH may lack /usr/sbin in a non-login shell).
declare -A BINS=(
  [dovecot-core]="/usr/sbin/dovecot /usr/bin/doveadm" [dovecot-sieve]="/usr/bin/sievec"
  [postfix]="/usr/sbin/postfix /usr/sbin/postmap" [rspamd]="/usr/bin/rspamd" [redis-server]="/usr/bin/redis-server"
  [swaks]="/usr/bin/swaks"
)
for p in "${PACKAGES[@]}"; do
  for bin in ${BINS[$p]:-}; do
    [ -x "$bin" ] || { echo "install-debian.sh: $bin missing after installing $p" >&2; exit 1; }
  done
done
echo "install-debian.sh: done"
