-- Which voice provider a task's calls use; NULL: the installation's default (OPENDEEP_VOICE_PROVIDER).
ALTER TABLE tasks ADD COLUMN voice_provider text CHECK (voice_provider IN ('realtime', 'live'));
