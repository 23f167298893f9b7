# Global Sieve script, run before every mailbox's own (dovecot.conf: sieve_before). rspamd's milter
# sets X-Panel-Spam on spam and removes it from everything that arrives (deploy/templates/rspamd):
# "junk" for domains whose spam action is MARK, "quarantine" for QUARANTINE. Spam stops here, so it
# never reaches the mailbox's own script (no vacation reply to spam). "Quarantine/" is a hidden,
# unlisted namespace; the panel's worker moves what lands there into the quarantine it lists.
require ["fileinto", "mailbox"];
if header :is "X-Panel-Spam" "quarantine" {
  fileinto :create "Quarantine/held";
  stop;
}
if header :is "X-Panel-Spam" "junk" {
  fileinto :create "Junk";
  stop;
}
