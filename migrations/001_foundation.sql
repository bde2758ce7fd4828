-- Written in the SQL both SQLite and PostgreSQL accept: TEXT, INTEGER, BIGINT
-- epoch milliseconds, JSON kept as TEXT, booleans as 0/1 INTEGER.

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_jwk TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retired_at BIGINT
);

-- Every oidc-provider model (clients, grants, codes, refresh tokens, sessions,
-- interactions…) in one table. Ids of secret-bearing models are stored as
-- SHA-256 hashes; Client ids are public and kept as they are.
CREATE TABLE oidc_models (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  payload TEXT NOT NULL,
  grant_id TEXT,
  client_id TEXT,
  account_id TEXT,
  uid TEXT,
  user_code TEXT,
  expires_at BIGINT,
  consumed_at BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (model, id)
);
CREATE INDEX oidc_models_grant_id ON oidc_models (grant_id);
CREATE INDEX oidc_models_client_id ON oidc_models (client_id, model);
CREATE INDEX oidc_models_account_id ON oidc_models (account_id, model);
CREATE INDEX oidc_models_uid ON oidc_models (uid);
CREATE INDEX oidc_models_user_code ON oidc_models (user_code);
CREATE INDEX oidc_models_expires_at ON oidc_models (expires_at);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT,
  password_hash TEXT,
  is_admin INTEGER NOT NULL DEFAULT 0,
  disabled_at BIGINT,
  last_login_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Failed sign-ins per account name (hashed), whether or not the account
-- exists, so the back-off never tells an attacker which emails are real.
CREATE TABLE login_throttle (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL,
  locked_until BIGINT,
  updated_at BIGINT NOT NULL
);

CREATE TABLE setup_tokens (
  token_hash TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);

-- A person's "remember this decision" on the consent page.
CREATE TABLE remembered_consents (
  user_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, client_id)
);

CREATE TABLE audit_log (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,
  event TEXT NOT NULL,
  actor TEXT,
  subject TEXT,
  ip TEXT,
  detail TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_event ON audit_log (event, at);
