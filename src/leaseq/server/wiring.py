"""The whole server built from ``Settings``: the store, the service over it, the app.

``run.serve`` uses the two steps (it needs the service for its SIGTERM handling); tests
and embedding applications can take the one call, ``build_app``.
"""

from __future__ import annotations

from starlette.applications import Starlette

from leaseq.server.config import Settings
from leaseq.server.http.app import create_app
from leaseq.server.service import QueueService
from leaseq.server.storage import Storage, open_storage


def build_service(settings: Settings, storage: Storage | None = None) -> QueueService:
    """A service over ``storage``, or over the store ``settings.db`` names. The store is
    not opened yet: the app's lifespan does that (``QueueService.open``)."""
    store = storage or open_storage(settings.db, durability=settings.durability)
    return QueueService(store, settings)


def build_app(settings: Settings, storage: Storage | None = None) -> Starlette:
    """The app ``leaseq serve`` runs, on ``settings`` (and ``storage`` when given)."""
    return create_app(build_service(settings, storage), settings)
