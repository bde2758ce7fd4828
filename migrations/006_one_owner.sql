-- A session bound to one JWT access token remembers which (its jti), so
-- revoking that token ends the session's bearer-less fallback too.
ALTER TABLE mcp_sessions ADD COLUMN token_id TEXT;
CREATE INDEX mcp_sessions_pat_id ON mcp_sessions (pat_id);
CREATE INDEX mcp_sessions_token_id ON mcp_sessions (token_id);

-- Access tokens (JWTs, never stored) revoked before they expire, by jti, kept
-- until they would have expired anyway.
CREATE TABLE revoked_access_tokens (
  jti TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);
