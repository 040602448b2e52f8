"""The pure domain: the job, its states, the lease rules, backoff and time; no I/O.

Both sides may import it: the server applies these rules, the client shares the
vocabulary (``JobState``, token parsing, limits)."""
