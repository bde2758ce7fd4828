-- Durable MCP tasks (the io.modelcontextprotocol/tasks extension): a tool
-- call answered with a task handle, polled, updated and cancelled from any
-- instance. The owner is the person and client that started it; the running
-- instance renews `lease_until` while the tool runs, so a task whose process
-- died is failed by whichever instance notices the lease ran out. JSON is
-- kept as TEXT (input_requests, input_responses, result, error).
CREATE TABLE mcp_tasks (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  grant_id TEXT,
  pat_id TEXT,
  tool TEXT NOT NULL,
  status TEXT NOT NULL,
  status_message TEXT,
  input_requests TEXT,
  input_responses TEXT,
  result TEXT,
  error TEXT,
  instance_id TEXT NOT NULL,
  lease_until BIGINT NOT NULL,
  ttl_ms BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  expires_at BIGINT
);
CREATE INDEX mcp_tasks_user_status ON mcp_tasks (user_id, status);
CREATE INDEX mcp_tasks_status_lease ON mcp_tasks (status, lease_until);
CREATE INDEX mcp_tasks_expires_at ON mcp_tasks (expires_at);
CREATE INDEX mcp_tasks_client_id ON mcp_tasks (client_id);
CREATE INDEX mcp_tasks_grant_id ON mcp_tasks (grant_id);
CREATE INDEX mcp_tasks_pat_id ON mcp_tasks (pat_id);
