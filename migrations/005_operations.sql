-- Rate-limit counters, shared by every instance on this Store.
CREATE TABLE rate_limits (
  key TEXT PRIMARY KEY,
  points INTEGER NOT NULL,
  expires_at BIGINT
);
CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);
