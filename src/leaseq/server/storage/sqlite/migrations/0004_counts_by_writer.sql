-- The writer now keeps queue_counts itself, one upsert per (queue, state) per operation;
-- the per-row triggers cost two statements for every changed row.
DROP TRIGGER jobs_count_insert;
DROP TRIGGER jobs_count_update;
DROP TRIGGER jobs_count_delete;
