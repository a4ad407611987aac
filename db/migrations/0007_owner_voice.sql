-- The owner's voice (issue 16): test calls from the browser are stored like calls, marked as tests,
-- and kept out of a task's attempts. The owner's own words on a live call are a third speaker, 'owner'.
ALTER TABLE calls ADD COLUMN is_test boolean NOT NULL DEFAULT false;
CREATE INDEX calls_tests ON calls (user_id, originated_at) WHERE is_test;

ALTER TABLE transcript_turns DROP CONSTRAINT transcript_turns_speaker_check;
ALTER TABLE transcript_turns ADD CONSTRAINT transcript_turns_speaker_check
    CHECK (speaker IN ('agent', 'callee', 'system', 'owner'));
