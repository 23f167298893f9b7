-- Issue 16: alias domains. alias.example → example.com delivers x@alias.example to x@example.com for
-- every address (mailboxes, forwards, the catch-all). An alias domain is a domain row of its own
-- (the one name table keeps every uniqueness and IDN rule: A-label in name, U-label in name_unicode,
-- counted against the package's maxDomains) whose alias_of_id names its target. It never has
-- mailboxes or forwards of its own (the API refuses them). The API keeps the rest: same customer as
-- the target, and the target is no alias itself (no chains, so a rewrite is one step).
ALTER TABLE "domains" ADD COLUMN "alias_of_id" UUID;
ALTER TABLE "domains" ADD CONSTRAINT "domains_alias_of_id_fkey" FOREIGN KEY ("alias_of_id") REFERENCES "domains"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
CREATE INDEX "domains_alias_of_id_idx" ON "domains"("alias_of_id");

-- Refused (550 5.2.1, like a disabled domain): every address of an alias domain whose target is
-- disabled. A disabled alias domain itself is already here as a disabled domain.
CREATE OR REPLACE VIEW "mail_refused" AS
  SELECT m.address AS key, m.local_part, d.name_unicode AS domain_unicode
    FROM mailboxes m JOIN domains d ON d.id = m.domain_id
   WHERE m.status = 'DISABLED' AND m.provisioning <> 'DELETING'
  UNION ALL
  SELECT d.name AS key, NULL AS local_part, d.name_unicode AS domain_unicode
    FROM domains d WHERE NOT d.enabled
  UNION ALL
  SELECT a.name AS key, NULL AS local_part, a.name_unicode AS domain_unicode
    FROM domains a JOIN domains t ON t.id = a.alias_of_id WHERE a.enabled AND NOT t.enabled;

-- The alias domains the mail server rewrites (alias and target enabled), as a mail view the
-- read-only role mail_reader may SELECT (MAIL_VIEWS in core/src/render/mailstack-config.ts): the
-- functions below run with the caller's rights, so they read this view, never the domains table.
CREATE VIEW "mail_alias_domains" AS
  SELECT a.name AS alias, a.name_unicode AS alias_unicode, t.name AS target
    FROM domains a JOIN domains t ON t.id = a.alias_of_id
   WHERE a.enabled AND t.enabled;

-- The alias-domain rewrite: local@alias → local@target when the domain of `address` is an alias
-- domain and both are enabled; NULL otherwise. One probe of the unique index on domains.name.
CREATE FUNCTION "mail_alias_domain_target"(address text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT substring(address FROM '^(.*)@[^@]*$') || '@' || ad.target
    FROM mail_alias_domains ad WHERE ad.alias = substring(address FROM '@([^@]*)$')
$$;

-- mail_alias_route treats the alias rewrite as one more edge: mail to local@alias is taken by
-- whatever takes local@target (a refused alias or target ends the route). The same rule as routeOf
-- in core/src/forward-routing.ts (change both together).
CREATE OR REPLACE FUNCTION "mail_alias_route"(address text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM mail_refused WHERE key IN (address, substring(address FROM '@([^@]*)$'), k.a, substring(k.a FROM '@([^@]*)$'))) THEN NULL
    WHEN EXISTS (SELECT 1 FROM mail_aliases WHERE source = k.a) THEN k.a
    WHEN EXISTS (SELECT 1 FROM mail_users WHERE email = k.a) THEN NULL
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_refused WHERE key = k.bare) THEN NULL
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_aliases WHERE source = k.bare) THEN k.bare
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_users WHERE email = k.bare) THEN NULL
    WHEN EXISTS (SELECT 1 FROM mail_aliases WHERE source = k.catch_all) THEN k.catch_all
  END
  FROM (SELECT r.a,
               CASE WHEN r.a ~ '^[^+@]+\+[^@]*@[^@]*$'
                    THEN regexp_replace(r.a, '^([^+@]+)\+[^@]*(@[^@]*)$', '\1\2') END AS bare,
               '*' || substring(r.a FROM '@[^@]*$') AS catch_all
          FROM (SELECT coalesce(mail_alias_domain_target(address), address) AS a) r) k
$$;

-- What pgsql-aliases.cf returns. An address of an alias domain becomes the same local part at the
-- target — but only when the target takes it (a mailbox, a forward, the +tag-less form's forward,
-- or its catch-all), so an unknown address of an alias domain is refused at RCPT like one of its
-- target (no accept-then-bounce). x+tag@alias with only a mailbox x@target answers nothing here:
-- Postfix then asks for x@alias, gets x@target and puts the +tag back (propagate_unmatched_extensions).
-- The "@alias" catch-all key answers nothing: the address keys above already used the target's.
CREATE OR REPLACE FUNCTION "mail_alias_lookup"(key text) RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
  src text := CASE WHEN left(key, 1) = '@' THEN '*' || key ELSE key END;
  target text := CASE WHEN left(key, 1) = '@' THEN NULL ELSE mail_alias_domain_target(key) END;
BEGIN
  IF target IS NOT NULL THEN
    IF EXISTS (SELECT 1 FROM mail_users WHERE email = target) OR mail_alias_route(target) IS NOT NULL THEN
      RETURN NEXT target;
    END IF;
  ELSIF mail_alias_loops(src) THEN
    RETURN NEXT 'loop@forward-loop.invalid';
  ELSE
    RETURN QUERY SELECT destination FROM mail_aliases WHERE source = src;
  END IF;
END $$;
