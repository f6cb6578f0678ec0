-- API keys: only a hash of each key is stored (the key is shown once, when it is made).
CREATE TABLE api_keys (
  id         text PRIMARY KEY,
  name       text,
  key_hash   text NOT NULL UNIQUE,     -- sha256 of the key, hex
  scopes     text[] NOT NULL CHECK (scopes <@ ARRAY['read', 'write', 'admin', 'metrics']::text[] AND cardinality(scopes) > 0),
  spaces     text[],                   -- NULL: every space
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
