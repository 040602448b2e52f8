-- Steering a job: the longest one attempt may run (a lease is never extended past
-- leased_at + timeout_ms), the progress the current attempt last reported (cleared by
-- each lease) and the checkpoint the job resumes from (kept across attempts). Both texts
-- are JSON, bounded by the API (64 KiB and 1 MiB encoded).
ALTER TABLE jobs ADD COLUMN timeout_ms bigint;
ALTER TABLE jobs ADD COLUMN progress text;
ALTER TABLE jobs ADD COLUMN checkpoint text;
