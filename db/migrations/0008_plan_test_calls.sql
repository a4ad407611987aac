-- A plan's "Try it" (issue 16): a test call of a proposed call before any task exists. Its row has no
-- task; the proposed call it ran (the task draft, never stored as a task) is kept with it.
ALTER TABLE calls ALTER COLUMN task_id DROP NOT NULL;
ALTER TABLE calls ADD COLUMN test_draft jsonb;
ALTER TABLE calls ADD CONSTRAINT calls_task_or_test_draft
    CHECK (task_id IS NOT NULL OR (is_test AND test_draft IS NOT NULL));

-- The agent of a plan's test call may ask the owner too: its question has the test call, no task.
ALTER TABLE hitl_requests ALTER COLUMN task_id DROP NOT NULL;
ALTER TABLE hitl_requests ADD CONSTRAINT hitl_requests_task_or_call CHECK (task_id IS NOT NULL OR call_id IS NOT NULL);
