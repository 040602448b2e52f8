-- Queue settings (issue 12): a row only for a queue an operator changed; every other
-- queue has the defaults of ``core.queues.QueueSettings``. NULL is "no limit". A claim of
-- a limited queue locks its row (FOR UPDATE), so claimers of that queue on every node
-- take turns while they count; claims of other queues never touch it.
CREATE TABLE queues (
    name            text    PRIMARY KEY,
    paused          boolean NOT NULL DEFAULT false,
    concurrency     integer,
    rate_count      integer,
    rate_per_ms     bigint,
    key_concurrency integer,
    updated_at      bigint  NOT NULL
);
ALTER TABLE jobs ADD COLUMN concurrency_key text;
-- The LEASED jobs of a queue with one key: the per-key count of a limited claim, bounded
-- by the limit. Keyless jobs stay out, so queues without keys pay nothing for it; the
-- queue's own LEASED count walks jobs_by_queue_state.
CREATE INDEX jobs_leased_keys ON jobs (queue, concurrency_key)
    WHERE state = 'LEASED' AND concurrency_key IS NOT NULL;
-- The lease times of rate-limited queues within their window (a sliding window, not a
-- token bucket): a claim counts the rows of the last window and prunes older ones.
CREATE TABLE queue_leases (
    queue text   NOT NULL,
    at    bigint NOT NULL
);
CREATE INDEX queue_leases_by_queue ON queue_leases (queue, at);
