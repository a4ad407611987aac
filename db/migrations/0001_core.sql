-- The core data model (architecture §3). Every tenant-owned row carries user_id.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    display_name  text NOT NULL DEFAULT '' CHECK (length(display_name) <= 120),
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    time_zone     text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) <= 64),
    profile       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE campaigns (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    request      text NOT NULL DEFAULT '' CHECK (length(request) <= 10000),
    status       text NOT NULL DEFAULT 'active'
                 CHECK (status IN ('active', 'completed', 'cancelled')),
    summary      text CHECK (length(summary) <= 20000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
CREATE INDEX campaigns_user ON campaigns (user_id, created_at DESC);

CREATE TABLE tasks (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    campaign_id      uuid REFERENCES campaigns (id) ON DELETE CASCADE,
    phone_number     text NOT NULL CHECK (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    callee_name      text NOT NULL DEFAULT '' CHECK (length(callee_name) <= 200),
    objective        text NOT NULL CHECK (length(objective) BETWEEN 1 AND 4000),
    facts            text NOT NULL DEFAULT '' CHECK (length(facts) <= 8000),
    success_criteria text NOT NULL DEFAULT '' CHECK (length(success_criteria) <= 4000),
    constraints      jsonb NOT NULL DEFAULT '{}'::jsonb,
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN (
                         'draft', 'scheduled', 'dialing', 'in_call', 'succeeded', 'failed',
                         'retry_scheduled', 'pending_user_info', 'cancelled', 'blocked_dnd')),
    priority         smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
    max_attempts     smallint NOT NULL DEFAULT 5 CHECK (max_attempts BETWEEN 1 AND 50),
    attempt_count    smallint NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    next_attempt_at  timestamptz,
    claimed_by       text,
    claimed_at       timestamptz,
    context          jsonb NOT NULL DEFAULT '{}'::jsonb,
    result           jsonb,
    failure_reason   text CHECK (length(failure_reason) <= 2000),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The dispatcher's due-task query: only waiting tasks, in dial order.
CREATE INDEX tasks_due ON tasks (next_attempt_at, priority DESC)
    WHERE status IN ('scheduled', 'retry_scheduled');
CREATE INDEX tasks_user ON tasks (user_id, created_at DESC);
CREATE INDEX tasks_campaign ON tasks (campaign_id);
CREATE INDEX tasks_claimed ON tasks (claimed_by) WHERE status IN ('dialing', 'in_call');

CREATE TABLE calls (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id          uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt          smallint NOT NULL CHECK (attempt >= 1),
    node_id          text NOT NULL DEFAULT '',
    destination      text NOT NULL,
    status           text NOT NULL DEFAULT 'dialing'
                     CHECK (status IN ('dialing', 'in_call', 'ended')),
    originated_at    timestamptz NOT NULL DEFAULT now(),
    answered_at      timestamptz,
    ended_at         timestamptz,
    outcome          text CHECK (outcome IN ('answered', 'busy', 'no_answer', 'congestion',
                         'unallocated', 'rejected', 'unavailable', 'failed')),
    q850_cause       integer,
    sip_code         integer,
    hangup_by        text,
    detail           text NOT NULL DEFAULT '' CHECK (length(detail) <= 2000),
    verdict          text,
    verdict_reason   text CHECK (length(verdict_reason) <= 4000),
    recording        text,
    metrics          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX calls_user ON calls (user_id, originated_at DESC);
CREATE INDEX calls_task ON calls (task_id, attempt);
CREATE INDEX calls_live ON calls (node_id) WHERE status <> 'ended';

CREATE TABLE transcript_turns (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_id    uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    speaker    text NOT NULL CHECK (speaker IN ('agent', 'callee', 'system')),
    text       text NOT NULL CHECK (length(text) <= 20000),
    started_at timestamptz NOT NULL,
    ended_at   timestamptz,
    truncated  boolean NOT NULL DEFAULT false
);
CREATE INDEX transcript_turns_call ON transcript_turns (call_id, started_at, id);

CREATE TABLE task_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    call_id     uuid REFERENCES calls (id) ON DELETE SET NULL,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind        text NOT NULL CHECK (length(kind) <= 60),
    from_status text,
    to_status   text,
    actor       text NOT NULL DEFAULT 'system' CHECK (length(actor) <= 120),
    message     text NOT NULL CHECK (length(message) <= 2000),
    data        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX task_events_task ON task_events (task_id, id);
CREATE INDEX task_events_user ON task_events (user_id, id DESC);

CREATE TABLE call_events (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_id uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind    text NOT NULL CHECK (length(kind) <= 60),
    message text NOT NULL CHECK (length(message) <= 2000),
    data    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX call_events_call ON call_events (call_id, id);

CREATE TABLE ari_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    call_id     uuid NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    event_type  text NOT NULL CHECK (length(event_type) <= 80),
    channel_id  text,
    payload     jsonb NOT NULL
);
CREATE INDEX ari_events_call ON ari_events (call_id, id);
CREATE INDEX ari_events_user ON ari_events (user_id, id DESC);

CREATE TABLE hitl_requests (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    task_id           uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    call_id           uuid REFERENCES calls (id) ON DELETE SET NULL,
    question          text NOT NULL CHECK (length(question) BETWEEN 1 AND 2000),
    recipient_message text NOT NULL DEFAULT '' CHECK (length(recipient_message) <= 2000),
    status            text NOT NULL DEFAULT 'open'
                      CHECK (status IN ('open', 'answered', 'expired', 'cancelled')),
    deadline          timestamptz NOT NULL,
    answer            text CHECK (length(answer) <= 4000),
    answered_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hitl_requests_user ON hitl_requests (user_id, status, created_at DESC);
CREATE INDEX hitl_requests_open_deadline ON hitl_requests (deadline) WHERE status = 'open';

-- user_id NULL is the global list.
CREATE TABLE dnd_numbers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint REFERENCES users (id) ON DELETE CASCADE,
    phone_number text NOT NULL CHECK (phone_number ~ '^\+[1-9][0-9]{6,14}$'),
    reason       text NOT NULL DEFAULT '' CHECK (length(reason) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dnd_numbers_user_number ON dnd_numbers (user_id, phone_number) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX dnd_numbers_global_number ON dnd_numbers (phone_number) WHERE user_id IS NULL;
