-- Internationalised domains (issue 12, item 6). "name" stays the A-label (xn--…): the one unique,
-- stored name the daemons use for paths, DNS and DKIM. "name_unicode" is its U-label (what people
-- type and read), written by the API from the same normalisation (core/src/validation.ts); for an
-- ASCII domain both are equal. The views expose both forms so Postfix and Dovecot accept either
-- while always answering with the A-label (one home folder, one quota).
-- RFC 3492 (Punycode) decoding of one label's part after "xn--", so that rows already stored as
-- A-labels get their U-label here, in SQL (the migration stays runnable by `prisma migrate deploy`),
-- and rows written by SQL without the U-label get it from the trigger below. NULL when the input
-- is not valid Punycode. The API writes name_unicode itself from Node's UTS #46 mapping; a test
-- compares the two.
CREATE FUNCTION "punycode_decode"(input text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  n bigint := 128; i bigint := 0; bias bigint := 72;
  output bigint[] := '{}';
  b int; pos int; oldi bigint; w bigint; k bigint; digit int; t bigint; ch int; delta bigint; numpoints int;
BEGIN
  b := CASE WHEN position('-' in input) = 0 THEN 0 ELSE length(input) - position('-' in reverse(input)) END;
  FOR j IN 1..b LOOP
    ch := ascii(substr(input, j, 1));
    IF ch >= 128 THEN RETURN NULL; END IF;
    output := output || ch::bigint;
  END LOOP;
  pos := CASE WHEN b > 0 THEN b + 2 ELSE 1 END;
  WHILE pos <= length(input) LOOP
    oldi := i; w := 1; k := 36;
    LOOP
      IF pos > length(input) THEN RETURN NULL; END IF;
      ch := ascii(substr(input, pos, 1));
      pos := pos + 1;
      digit := CASE WHEN ch BETWEEN 48 AND 57 THEN ch - 22 WHEN ch BETWEEN 65 AND 90 THEN ch - 65
                    WHEN ch BETWEEN 97 AND 122 THEN ch - 97 END;
      IF digit IS NULL THEN RETURN NULL; END IF;
      i := i + digit * w;
      t := CASE WHEN k <= bias THEN 1 WHEN k >= bias + 26 THEN 26 ELSE k - bias END;
      EXIT WHEN digit < t;
      w := w * (36 - t);
      k := k + 36;
      IF i > 1114111 * 64 THEN RETURN NULL; END IF;
    END LOOP;
    numpoints := cardinality(output) + 1;
    delta := CASE WHEN oldi = 0 THEN (i - oldi) / 700 ELSE (i - oldi) / 2 END;
    delta := delta + delta / numpoints;
    k := 0;
    WHILE delta > 455 LOOP
      delta := delta / 35;
      k := k + 36;
    END LOOP;
    bias := k + (36 * delta) / (delta + 38);
    n := n + i / numpoints;
    i := i % numpoints;
    IF n > 1114111 OR n BETWEEN 55296 AND 57343 THEN RETURN NULL; END IF;
    output := output[1:i] || n || output[i + 1:];
    i := i + 1;
  END LOOP;
  RETURN (SELECT string_agg(chr(x::int), '' ORDER BY o) FROM unnest(output) WITH ORDINALITY AS u(x, o));
END $$;

-- A domain name with its A-labels decoded (labels that are not A-labels, or do not decode, as they are).
CREATE FUNCTION "idn_to_unicode"(domain text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT string_agg(CASE WHEN l LIKE 'xn--%' THEN coalesce(nullif("punycode_decode"(substr(l, 5)), ''), l) ELSE l END, '.' ORDER BY o)
    FROM unnest(string_to_array(domain, '.')) WITH ORDINALITY AS x(l, o)
$$;

ALTER TABLE "domains" ADD COLUMN "name_unicode" TEXT;
UPDATE "domains" SET "name_unicode" = "idn_to_unicode"("name");
ALTER TABLE "domains" ALTER COLUMN "name_unicode" SET NOT NULL;
CREATE UNIQUE INDEX "domains_name_unicode_key" ON "domains"("name_unicode");
-- A row written without the U-label (SQL fixtures, scripts) gets it decoded from its name.
CREATE FUNCTION "domain_name_unicode_default"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW."name_unicode" := COALESCE(NEW."name_unicode", "idn_to_unicode"(NEW."name"));
  RETURN NEW;
END $$;
CREATE TRIGGER "domains_name_unicode" BEFORE INSERT ON "domains"
  FOR EACH ROW EXECUTE FUNCTION "domain_name_unicode_default"();

CREATE OR REPLACE VIEW "mail_domains" AS
  SELECT d.name AS domain, d.name_unicode AS domain_unicode FROM domains d WHERE d.enabled;

CREATE OR REPLACE VIEW "mail_users" AS
  SELECT m.address AS email, m.local_part, d.name AS domain,
         '{ARGON2ID}' || m.password_hash AS password, m.quota_mb,
         d.name_unicode AS domain_unicode
    FROM mailboxes m JOIN domains d ON d.id = m.domain_id
   WHERE d.enabled AND m.status = 'ACTIVE' AND m.provisioning <> 'DELETING';
