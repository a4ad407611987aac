-- Engine nodes and their heartbeats: a task claimed by a node that stopped
-- heartbeating is recovered by a lifecycle sweep on another node.
CREATE TABLE nodes (
    id           text PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 80),
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    info         jsonb NOT NULL DEFAULT '{}'::jsonb
);

-- The dispatcher's claim order: priority first, then how long a task has waited.
CREATE INDEX tasks_dispatch_order ON tasks (priority DESC, next_attempt_at)
    WHERE status IN ('scheduled', 'retry_scheduled');

-- Active calls per tenant (the per-user concurrency limit).
CREATE INDEX tasks_active_user ON tasks (user_id) WHERE status IN ('dialing', 'in_call');
