-- Legacy (2024-11-05 … 2025-11-25) MCP sessions. The id is stored only as a
-- SHA-256 hash. The row is what lets any instance rebuild the session: the
-- principal it is bound to and the initialize request that opened it.
CREATE TABLE mcp_sessions (
  id_hash TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  principal_kind TEXT NOT NULL,
  grant_id TEXT,
  pat_id TEXT,
  scopes TEXT NOT NULL,
  token_expires_at BIGINT NOT NULL,
  protocol_version TEXT NOT NULL,
  transport TEXT NOT NULL,
  initialize_request TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT NOT NULL
);
CREATE INDEX mcp_sessions_user_id ON mcp_sessions (user_id);
CREATE INDEX mcp_sessions_client_id ON mcp_sessions (client_id);
CREATE INDEX mcp_sessions_grant_id ON mcp_sessions (grant_id);
CREATE INDEX mcp_sessions_last_used_at ON mcp_sessions (last_used_at);

-- Long-lived bearer tokens a person creates for clients that never refresh
-- (n8n's Bearer credential, scripts). Only the hash is kept.
CREATE TABLE personal_access_tokens (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  hint TEXT NOT NULL,
  scopes TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX personal_access_tokens_user_id ON personal_access_tokens (user_id);

-- The built-in notes tools: each person's notes, visible only to them.
CREATE TABLE notes (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  text TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX notes_user_id ON notes (user_id, created_at);
