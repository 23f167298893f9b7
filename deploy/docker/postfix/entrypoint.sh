#!/bin/sh
# Starts Postfix in the foreground (logging to stdout) with the panel's rendered configuration,
# copied from /run/mailpanel-config to the directory it was rendered for. The pgsql maps hold the
# read-only role's password: readable by root and the postfix group only.
set -eu
SRC=/run/mailpanel-config/postfix
DST=/etc/mailpanel/postfix
if [ ! -f "$SRC/main.cf" ]; then
  echo "postfix: no rendered configuration in $SRC (has the mail-config service run?)" >&2
  exit 1
fi
install -d -m 0755 "$DST"
install -m 0644 "$SRC/main.cf" "$SRC/master.cf" "$DST/"
for f in "$SRC"/pgsql-*.cf; do
  install -m 0640 -o root -g postfix "$f" "$DST/"
done
install -d -o postfix -g postfix /var/lib/postfix
install -d -m 0755 /var/log/mailpanel
# Queue directories (the spool is a volume; an empty one is set up here).
/usr/sbin/postfix -c "$DST" check
exec /usr/sbin/postfix -c "$DST" start-fg
