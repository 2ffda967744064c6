-- Palisade on PostgreSQL, schema version 1 (see docs/postgres.md).
-- Run by `palisade_postgres::migrate` as a role that may create roles and
-- schemas (a superuser or the deployment's DBA role), in one transaction.

-- Three roles, all NOLOGIN: log in as your own roles made members of them
-- (`CREATE ROLE svc LOGIN IN ROLE palisade_app`). Role attributes such as
-- BYPASSRLS are never inherited through membership.
DO $roles$
BEGIN
  BEGIN CREATE ROLE palisade_owner NOLOGIN NOBYPASSRLS;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE palisade_app NOLOGIN NOBYPASSRLS NOINHERIT;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  BEGIN CREATE ROLE palisade_auditor NOLOGIN NOBYPASSRLS NOINHERIT;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  -- The migrating role creates the tables as the owner role.
  BEGIN GRANT palisade_owner TO CURRENT_USER;
  EXCEPTION WHEN duplicate_object OR invalid_grant_operation THEN NULL; END;
END
$roles$;

CREATE SCHEMA IF NOT EXISTS palisade AUTHORIZATION palisade_owner;
REVOKE ALL ON SCHEMA palisade FROM PUBLIC;
GRANT USAGE ON SCHEMA palisade TO palisade_app, palisade_auditor;

SET LOCAL ROLE palisade_owner;

-- API-key records. `record` is the key record's JSON (the secret's hash,
-- never the secret); the columns beside it are what queries filter on.
-- `remaining_uses` lives outside the record: replicas decrement it
-- atomically here.
CREATE TABLE palisade.api_keys (
  key_id          text        PRIMARY KEY CHECK (length(key_id) BETWEEN 1 AND 64),
  tenant_id       text        NOT NULL CHECK (length(tenant_id) BETWEEN 1 AND 64),
  project_id      text,
  generation      bigint      NOT NULL CHECK (generation >= 0),
  record          text        NOT NULL,
  remaining_uses  bigint      CHECK (remaining_uses >= 0),
  -- Refill period (Unix ms / interval) of the last refill of remaining_uses.
  uses_period     bigint,
  -- After a rotation: the key whose counter this one spends (its successor).
  uses_from       text,
  -- Unix milliseconds: when the key stops being usable (revoked, expired or
  -- rotated out; NULL while it may still be used), for the retention purge.
  ended_at_ms     bigint,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant ON palisade.api_keys (tenant_id, key_id);
CREATE INDEX api_keys_ended ON palisade.api_keys (ended_at_ms) WHERE ended_at_ms IS NOT NULL;

-- Imported keys are found by the SHA-256 digest of their text.
CREATE TABLE palisade.api_key_imports (
  digest     bytea PRIMARY KEY CHECK (length(digest) = 32),
  key_id     text  NOT NULL REFERENCES palisade.api_keys (key_id) ON DELETE CASCADE,
  tenant_id  text  NOT NULL
);

-- Break-glass grants (immutable but for `ended_at`).
CREATE TABLE palisade.grants (
  grant_id    text        PRIMARY KEY CHECK (grant_id ~ '^bg_[0-9a-f]{32}$'),
  tenant_id   text        NOT NULL CHECK (length(tenant_id) BETWEEN 1 AND 64),
  project_id  text,
  staff       text        NOT NULL,
  permissions text[]      NOT NULL,
  reason      text        NOT NULL,
  -- Unix milliseconds.
  granted_at_ms bigint NOT NULL,
  expires_at_ms bigint NOT NULL CHECK (expires_at_ms > granted_at_ms),
  ended_at_ms   bigint
);
CREATE INDEX grants_expiry ON palisade.grants (expires_at_ms);

ALTER TABLE palisade.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE palisade.api_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE palisade.api_key_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE palisade.api_key_imports FORCE ROW LEVEL SECURITY;
ALTER TABLE palisade.grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE palisade.grants FORCE ROW LEVEL SECURITY;

-- A transaction sees (and writes) the rows of the tenant it is bound to
-- (`with_scope`: set_config('palisade.tenant_id', …, true)); unbound, it
-- sees nothing.
CREATE POLICY tenant_isolation ON palisade.api_keys
  USING (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''))
  WITH CHECK (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''));
CREATE POLICY tenant_isolation ON palisade.api_key_imports
  USING (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''))
  WITH CHECK (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''));
CREATE POLICY tenant_isolation ON palisade.grants
  USING (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''))
  WITH CHECK (tenant_id = NULLIF(current_setting('palisade.tenant_id', true), ''));

-- Verification finds a key before it knows the tenant: a transaction may
-- READ the rows whose ids (or digests) it names in
-- `palisade.lookup_ids` (comma-separated), and nothing else.
CREATE POLICY lookup_by_id ON palisade.api_keys FOR SELECT
  USING (key_id = ANY (string_to_array(NULLIF(current_setting('palisade.lookup_ids', true), ''), ',')));
CREATE POLICY lookup_by_id ON palisade.api_key_imports FOR SELECT
  USING (encode(digest, 'hex') = ANY (string_to_array(NULLIF(current_setting('palisade.lookup_ids', true), ''), ',')));
CREATE POLICY lookup_by_id ON palisade.grants FOR SELECT
  USING (grant_id = ANY (string_to_array(NULLIF(current_setting('palisade.lookup_ids', true), ''), ',')));

-- Retention purge (`palisade_postgres::purge`): the owner, in a
-- transaction that sets `palisade.maintenance` to `on`, sees every row.
CREATE POLICY maintenance ON palisade.api_keys TO palisade_owner
  USING (current_setting('palisade.maintenance', true) = 'on');
CREATE POLICY maintenance ON palisade.api_key_imports TO palisade_owner
  USING (current_setting('palisade.maintenance', true) = 'on');
CREATE POLICY maintenance ON palisade.grants TO palisade_owner
  USING (current_setting('palisade.maintenance', true) = 'on');

-- TRUNCATE ignores RLS: nobody but the owner may do it.
GRANT SELECT, INSERT, UPDATE ON palisade.api_keys, palisade.api_key_imports, palisade.grants TO palisade_app;
GRANT SELECT ON palisade.api_keys, palisade.api_key_imports, palisade.grants TO palisade_auditor;

-- Applied migrations (no tenant data: not under RLS).
CREATE TABLE palisade.schema_migrations (
  version     integer     PRIMARY KEY,
  applied_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT ON palisade.schema_migrations TO palisade_app, palisade_auditor;

RESET ROLE;
