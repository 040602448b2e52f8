"""The one table from domain errors to HTTP statuses (``leaseq.server.http.errors``)."""

from __future__ import annotations

import pytest

from leaseq import errors
from leaseq.server.http.errors import status_of

EXPECTED = {
    errors.LeaseqError: 500,
    errors.InvalidRequest: 422,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.HeadersTooLarge: 431,
    errors.HeaderTimeout: 408,
    errors.JobNotFound: 404,
    errors.ScheduleNotFound: 404,
    errors.Conflict: 409,
    errors.LeaseLost: 409,
    errors.JobCancelled: 409,
    errors.InvalidTransition: 409,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.ForbiddenOrigin: 403,
    errors.UnknownHost: 421,
    errors.QueueFull: 429,
    errors.RateLimited: 429,
    errors.ServerUnavailable: 503,
    errors.TooManyConnections: 503,
    errors.StorageUnavailable: 503,
    errors.StorageFull: 507,
    errors.StorageReadOnly: 503,
}


def test_every_error_class_has_its_status() -> None:
    assert set(EXPECTED) == set(errors.ERRORS_BY_CODE.values())


@pytest.mark.parametrize(("cls", "status"), EXPECTED.items(), ids=lambda v: str(v))
def test_status_of(cls: type[errors.LeaseqError], status: int) -> None:
    assert status_of(cls("x")) == status


def test_a_subclass_answers_as_its_nearest_listed_ancestor() -> None:
    class Stale(errors.LeaseLost):
        pass

    assert status_of(Stale("x")) == 409


def test_domain_errors_know_nothing_of_http() -> None:
    assert not any(hasattr(cls, "status") for cls in EXPECTED)
