-- Forwarding loops on the daemon side. Postfix expands a virtual alias again and again until
-- virtual_alias_recursion_limit (1000), then answers "451 4.3.0 alias expansion error" — forever,
-- at thousands of lookups per message. The panel refuses forwards that close a loop
-- (core/src/forward-routing.ts), but a loop can still be written behind its back (SQL, an older
-- version); pgsql-aliases.cf therefore asks mail_alias_lookup, which answers a forward that lies on a
-- loop with loop@forward-loop.invalid, and main.cf's transport_maps bounces that address once with
-- 5.4.6. Only the three mail views are read, so the read-only role mail_reader may run these
-- (functions are SECURITY INVOKER; EXECUTE is PUBLIC). Bodies are strings, not BEGIN ATOMIC, so a
-- later migration may still replace the views.

-- The forward source that takes mail for an address — the same rule as routeOf in
-- core/src/forward-routing.ts (change both together): a forward with that address, else a mailbox
-- (NULL: delivered), else the same two without the +extension, else the domain's catch-all *@domain,
-- else NULL (an outside or unknown address). Each step is one probe of a unique index.
CREATE FUNCTION "mail_alias_route"(address text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM mail_aliases WHERE source = address) THEN address
    WHEN EXISTS (SELECT 1 FROM mail_users WHERE email = address) THEN NULL
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_aliases WHERE source = k.bare) THEN k.bare
    WHEN k.bare IS NOT NULL AND EXISTS (SELECT 1 FROM mail_users WHERE email = k.bare) THEN NULL
    WHEN EXISTS (SELECT 1 FROM mail_aliases WHERE source = k.catch_all) THEN k.catch_all
  END
  FROM (SELECT CASE WHEN address ~ '^[^+@]+\+[^@]*@[^@]*$'
                    THEN regexp_replace(address, '^([^+@]+)\+[^@]*(@[^@]*)$', '\1\2') END AS bare,
               '*' || substring(address FROM '@[^@]*$') AS catch_all) k
$$;

-- True when mail for the forward `start` comes back to it: a breadth-first walk over the forwards
-- reachable from it, each visited once, so it ends on any graph. One statement per forward visited,
-- each an equality probe of the unique index on forwards.source (a plain recursive CTE let the
-- planner join the whole view instead: 15 s at 50,000 forwards). A destination equal to its own
-- source is no loop: Postfix lets an address expand into itself once. Safety bound: a forward that
-- reaches more than 1000 others counts as a loop (Postfix would defer it at
-- virtual_alias_expansion_limit anyway); the bound keeps a lookup's cost capped.
CREATE FUNCTION "mail_alias_loops"(start text) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
  seen text[] := ARRAY[start];
  frontier text[] := ARRAY[start];
  next_frontier text[];
  node text;
  target text;
BEGIN
  WHILE cardinality(frontier) > 0 LOOP
    next_frontier := '{}';
    FOREACH node IN ARRAY frontier LOOP
      FOR target IN SELECT mail_alias_route(a.destination) FROM mail_aliases a WHERE a.source = node AND a.destination <> node LOOP
        IF target = start THEN RETURN true; END IF;
        IF target IS NOT NULL AND NOT target = ANY(seen) THEN
          seen := seen || target;
          next_frontier := next_frontier || target;
        END IF;
      END LOOP;
    END LOOP;
    IF cardinality(seen) > 1000 THEN RETURN true; END IF;
    frontier := next_frontier;
  END LOOP;
  RETURN false;
END $$;

-- What pgsql-aliases.cf returns for a Postfix lookup key: "local@domain", or "@domain" for the
-- catch-all. The forward's destinations, or the one bounce address when the forward lies on a loop.
CREATE FUNCTION "mail_alias_lookup"(key text) RETURNS SETOF text LANGUAGE plpgsql STABLE AS $$
DECLARE
  src text := CASE WHEN left(key, 1) = '@' THEN '*' || key ELSE key END;
BEGIN
  IF mail_alias_loops(src) THEN
    RETURN NEXT 'loop@forward-loop.invalid';
  ELSE
    RETURN QUERY SELECT destination FROM mail_aliases WHERE source = src;
  END IF;
END $$;
