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
install -d -m 0755 "$DST"
install -m 0640 -o root -g dovecot "$SRC/dovecot.conf" "$SRC/dovecot-sql.conf.ext" "$DST/"
# The shared Maildir volume may have been created by another image: it belongs to vmail.
chown vmail:vmail /var/vmail
chmod 0750 /var/vmail
install -d -m 0755 /run/mailpanel /run/mailpanel/dovecot-state /var/log/mailpanel
exec /usr/sbin/dovecot -F -c "$DST/dovecot.conf"
