-- Upstream MCP servers added on the admin page (the UPSTREAMS file holds the
-- others). `definition` is the entry as JSON, validated by the same schema as
-- the file; a disabled row also hides a file entry of the same name.
CREATE TABLE upstreams (
  name TEXT PRIMARY KEY,
  definition TEXT NOT NULL,
  enabled BIGINT NOT NULL,
  updated_by TEXT,
  updated_at BIGINT NOT NULL
);

-- A session opened at /mcp/<name> belongs to that upstream (NULL: /mcp), so a
-- rebuilt session proxies to the same upstream and is found only at its URL.
ALTER TABLE mcp_sessions ADD COLUMN upstream TEXT;
