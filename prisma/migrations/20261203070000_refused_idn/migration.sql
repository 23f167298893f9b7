-- Issue 12: a disabled mailbox or domain is refused whichever form of an internationalised domain
-- the sender writes (x@bücher.test as well as x@xn--bcher-kva.test). mail_refused keeps its "key"
-- (the stored A-label address or domain) and gains the parts Postfix's U-label lookups compare:
-- the local part (NULL on a domain row: every address of it) and the domain's U-label
-- (domains.name_unicode, unique and indexed; equal to the name for an ASCII domain).
CREATE OR REPLACE VIEW "mail_refused" AS
  SELECT m.address AS key, m.local_part, d.name_unicode AS domain_unicode
    FROM mailboxes m JOIN domains d ON d.id = m.domain_id
   WHERE m.status = 'DISABLED' AND m.provisioning <> 'DELETING'
  UNION ALL
  SELECT d.name AS key, NULL AS local_part, d.name_unicode AS domain_unicode
    FROM domains d WHERE NOT d.enabled;
