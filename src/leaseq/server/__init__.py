"""The server: the queue service, its background passes, the HTTP layer and storage.

Nothing here imports ``leaseq.client``."""
