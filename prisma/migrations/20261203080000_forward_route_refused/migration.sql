-- mail_alias_route follows Postfix's virtual_alias_maps order in full: pgsql-refused-aliases.cf comes
-- first, so a refused address (a disabled mailbox, any address of a disabled domain; view
-- mail_refused) ends the route — it is bounced with 5.2.1 and never falls to its domain's catch-all.
-- The same rule as routeOf in core/src/forward-routing.ts (change both together).
CREATE OR REPLACE FUNCTION "mail_alias_route"(address text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM mail_refused WHERE key IN (address, substring(address FROM '@([^@]*)$'))) THEN NULL
    WHEN EXISTS (SELECT 1 FROM mail_aliases WHERE source = address) THEN address
    WHEN EXISTS (SELECT 1 FROM mail_users WHERE email = address) THEN NULL
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_refused WHERE key = k.bare) THEN NULL
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_aliases WHERE source = k.bare) THEN k.bare
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_users WHERE email = k.bare) THEN NULL
    WHEN EXISTS (SELECT 1 FROM mail_aliases WHERE source = k.catch_all) THEN k.catch_all
  END
  FROM (SELECT CASE WHEN address ~ '^[^+@]+\+[^@]*@[^@]*$'
                    THEN regexp_replace(address, '^([^+@]+)\+[^@]*(@[^@]*)$', '\1\2') END AS bare,
               '*' || substring(address FROM '@[^@]*$') AS catch_all) k
$$;
