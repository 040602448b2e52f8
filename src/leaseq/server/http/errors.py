"""Every error leaves the server in one JSON shape: ``{"error": {"code", "message"}}``.

``STATUS`` is the one table from a domain error (``leaseq.errors``, which knows nothing of
HTTP) to the status it answers with; this module also maps the framework's and the
decoder's errors, and makes sure no stack trace reaches a client.
"""

from __future__ import annotations

import logging

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from leaseq.errors import (
    Conflict,
    Forbidden,
    HeadersTooLarge,
    HeaderTimeout,
    InvalidRequest,
    JobCancelled,
    JobNotFound,
    LeaseqError,
    PayloadTooLarge,
    QueueFull,
    RateLimited,
    ScheduleNotFound,
    ServerUnavailable,
    StorageFull,
    StorageUnavailable,
    Unauthorized,
    UnknownHost,
    UnsupportedMediaType,
)
from leaseq.server.http.wire import ErrorBody, ErrorOut

log = logging.getLogger("leaseq.server.http")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


STATUS: dict[type[LeaseqError], int] = {
    InvalidRequest: 422,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
    HeadersTooLarge: 431,
    HeaderTimeout: 408,
    JobNotFound: 404,
    ScheduleNotFound: 404,
    Conflict: 409,  # and so LeaseLost, InvalidTransition
    JobCancelled: 409,
    Unauthorized: 401,
    Forbidden: 403,  # and so ForbiddenOrigin
    UnknownHost: 421,
    QueueFull: 429,
    RateLimited: 429,
    ServerUnavailable: 503,  # and so TooManyConnections
    StorageUnavailable: 503,  # and so StorageReadOnly
    StorageFull: 507,
}
"""Domain error -> HTTP status. A class not listed answers as its nearest listed ancestor
(``status_of`` walks the MRO, most specific class first); ``LeaseqError`` itself is 500."""


def status_of(exc: LeaseqError) -> int:
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


def error_response(status: int, code: str, message: str) -> Response:
    body = msgspec.json.encode(ErrorOut(ErrorBody(code, message)))
    return Response(body, status_code=status, media_type="application/json")


async def _leaseq_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, LeaseqError)
    return error_response(status_of(exc), exc.code, exc.message)


async def _validation_error(_: Request, exc: Exception) -> Response:
    return error_response(422, "invalid_request", str(exc))


async def _decode_error(_: Request, exc: Exception) -> Response:
    return error_response(400, "malformed_json", f"the body is not valid JSON: {exc}")


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(
        exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), exc.detail
    )
    response.headers.update(exc.headers or {})  # e.g. Allow on a 405
    return response


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal", "internal server error; see the server log")


HANDLERS: dict[type[Exception] | int, ExceptionHandler] = {
    LeaseqError: _leaseq_error,
    msgspec.ValidationError: _validation_error,
    msgspec.DecodeError: _decode_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}
