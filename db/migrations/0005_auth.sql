-- Least-privilege API tokens, forced password changes, session idle timeouts, login throttling.

ALTER TABLE api_tokens ADD COLUMN scope text NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'write'));
UPDATE api_tokens SET scope = 'write';  -- tokens made before scopes could change data: keep what they could do

ALTER TABLE users ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN password_changed_at timestamptz;

ALTER TABLE web_sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();

-- One row per failed sign-in; read back over a sliding window per account and per address.
CREATE TABLE login_failures (
    id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email   text NOT NULL CHECK (length(email) <= 320),
    address text NOT NULL CHECK (length(address) <= 64),
    at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (lower(email), at);
CREATE INDEX login_failures_address ON login_failures (address, at);
