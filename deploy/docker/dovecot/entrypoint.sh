#!/bin/sh
# Starts Dovecot in the foreground with the panel's rendered configuration. The rendered files
# arrive read-only in /run/mailpanel-config (the mail-config service writes them); they are copied
# to the paths they were rendered for, with the permissions Dovecot needs (they hold the
# read-only database role's password).
set -eu
SRC=/run/mailpanel-config/dovecot
DST=/etc/mailpanel/dovecot
if [ ! -f "$SRC/dovecot.conf" ]; then
  echo "dovecot: no rendered configuration in $SRC (has the mail-config service run?)" >&2
  exit 1
fi
install -d -m 0755 "$DST" /run/mailpanel /run/mailpanel/dovecot-state /var/log/mailpanel
install -m 0640 -o root -g dovecot "$SRC/dovecot.conf" "$SRC/dovecot-sql.conf.ext" "$DST/"
# Global Sieve scripts (sieve_before = spam.sieve: rspamd's X-Panel-Spam header → Junk, or the hidden
# quarantine the worker collects from). LMTP runs them as vmail, which may not write beside them, so
# they are compiled here, as in the mail-stack suite.
install -d -m 0755 "$DST/sieve"
for f in "$SRC"/sieve/*.sieve; do
  install -m 0644 -o root -g root "$f" "$DST/sieve/"
  /usr/bin/sievec -c "$DST/dovecot.conf" "$DST/sieve/$(basename "$f")" "$DST/sieve/$(basename "$f" .sieve).svbin"
  chmod 0644 "$DST/sieve/$(basename "$f" .sieve).svbin"
done
# The shared Maildir volume may have been created by another image: it belongs to vmail.
chown vmail:vmail /var/vmail
chmod 0750 /var/vmail
exec /usr/sbin/dovecot -F -c "$DST/dovecot.conf"
