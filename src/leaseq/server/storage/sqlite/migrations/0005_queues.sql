-- Queue settings (issue 12): a row only for a queue an operator changed; every other
-- queue has the defaults of ``core.queues.QueueSettings``. NULL is "no limit".
CREATE TABLE queues (
    name            TEXT    PRIMARY KEY,
    paused          INTEGER NOT NULL DEFAULT 0,
    concurrency     INTEGER,
    rate_count      INTEGER,
    rate_per_ms     INTEGER,
    key_concurrency INTEGER,
    updated_at      INTEGER NOT NULL
);
ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
-- The LEASED jobs of a queue with one key: the per-key count of a claim, bounded by the
-- limit. Keyless jobs stay out, so queues without keys pay nothing for it.
CREATE INDEX jobs_leased_keys ON jobs (queue, concurrency_key)
    WHERE state = 'LEASED' AND concurrency_key IS NOT NULL;
-- The lease times of rate-limited queues within their window (a sliding window, not a
-- token bucket): a claim counts the rows of the last window and prunes older ones.
CREATE TABLE queue_leases (
    queue TEXT    NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX queue_leases_by_queue ON queue_leases (queue, at);
