-- How a call starts and what to do on an answering machine, per task.
-- greet_first: the agent greets the moment the call is answered (default: it lets the callee speak first).
-- voicemail: leave_message (the task's message after the beep), hang_up, or call_back_later
-- (hang up; the task is retried later). Tasks that kept the policy in their constraints keep it.

ALTER TABLE tasks
    ADD COLUMN greet_first boolean NOT NULL DEFAULT false,
    ADD COLUMN voicemail text NOT NULL DEFAULT 'hang_up'
        CHECK (voicemail IN ('leave_message', 'hang_up', 'call_back_later'));

UPDATE tasks SET voicemail = constraints->>'answering_machine', constraints = constraints - 'answering_machine'
WHERE constraints->>'answering_machine' IN ('leave_message', 'hang_up', 'call_back_later');
