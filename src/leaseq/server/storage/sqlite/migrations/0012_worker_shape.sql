-- What each worker said of itself on its latest poll: the queues it polls (a JSON list)
-- and how many jobs it runs at once (NULL when it did not say), for the workers page.
ALTER TABLE workers ADD COLUMN queues TEXT NOT NULL DEFAULT '[]';
ALTER TABLE workers ADD COLUMN concurrency INTEGER;
