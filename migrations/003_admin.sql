-- The administrator's page. Written in the SQL both SQLite and PostgreSQL accept.

-- One narrow row per client, kept beside oidc_models so listing, searching and
-- paging 10,000 clients never parses a JSON payload. Maintained when clients
-- register, update, delete, are resolved from a metadata document (CIMD), and
-- are used. CIMD clients have no oidc_models row: `metadata` keeps the last
-- document seen so the admin page can show it.
CREATE TABLE client_index (
  client_id TEXT PRIMARY KEY,
  name TEXT,
  kind TEXT NOT NULL,
  redirect_hosts TEXT NOT NULL,
  search_text TEXT NOT NULL,
  metadata TEXT,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX client_index_created_at ON client_index (created_at, client_id);
CREATE INDEX client_index_kind ON client_index (kind, created_at, client_id);

-- Signed-in browsers on /admin and /account. The id is stored only as a hash.
CREATE TABLE admin_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  flash TEXT
);
CREATE INDEX admin_sessions_user_id ON admin_sessions (user_id);
CREATE INDEX admin_sessions_expires_at ON admin_sessions (expires_at);

-- The audit page filters by who did it or to whom, newest first.
CREATE INDEX audit_log_actor ON audit_log (actor, at);
CREATE INDEX audit_log_subject ON audit_log (subject, at);
