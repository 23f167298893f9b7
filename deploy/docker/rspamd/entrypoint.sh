#!/bin/sh
# Starts rspamd in the foreground (logging to the console) with the panel's rendered configuration
# as LOCAL_CONFDIR: /etc/mailpanel/rspamd, the `rspamdconfig` volume the mail-config service writes,
# mounted read-only (no copy, so a re-render followed by `docker compose kill -s HUP rspamd` applies).
# The maps and DKIM keys it names are the worker's, in volumes mounted at the same paths as in the
# worker; rspamd re-reads the maps by itself (map_watch_interval), nothing is restarted.
set -eu
CONF=/etc/mailpanel/rspamd
if [ ! -f "$CONF/local.d/options.inc" ] || [ ! -f "$CONF/rspamd.conf.override" ]; then
  echo "rspamd: no rendered configuration in $CONF (has the mail-config service run?)" >&2
  exit 1
fi
install -d -o _rspamd -g _rspamd /run/rspamd /var/lib/rspamd
# Note the "=": `--var NAME VAL` fails.
/usr/bin/rspamadm "--var=LOCAL_CONFDIR=$CONF" configtest -c /etc/rspamd/rspamd.conf
exec /usr/bin/rspamd -f -c /etc/rspamd/rspamd.conf -u _rspamd -g _rspamd "--var=LOCAL_CONFDIR=$CONF"
