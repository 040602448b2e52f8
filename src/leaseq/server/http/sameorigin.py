"""Requests from browsers are taken only from the server's own pages: one pure-ASGI
middleware, before any route, for every route.

Without ``--token`` anyone who can reach the server may drive it, which on loopback is
meant to be the machine's own users and programs. A web page the user happens to open can
reach loopback too, so three checks keep browsers of other sites out:

* **Host** (DNS rebinding). When the server listens on a loopback address, a ``Host``
  that is not a loopback name or address (``localhost``, ``*.localhost``, ``127.x.x.x``,
  ``[::1]``, any port) is refused with 421 ``unknown_host``: a rebound name is the
  attacker's own, and with it the page would count as same-origin. On other addresses the
  check is off unless ``--allowed-host`` names the server's names; ``/health`` is never
  checked, so a load balancer may probe it by address.
* **Origin** (cross-site request forgery). A request with an ``Origin`` header (browsers
  send one on every cross-origin request and on every POST, ``no-cors`` or not) that is
  not the server's own, by the ``Host`` it was sent to, is refused with 403
  ``forbidden_origin``, unless ``--allow-origin`` lists it. Programs send no ``Origin``.
* **Content type**. A request that names a content type must name ``application/json``
  (``; charset=utf-8`` allowed), else 415 ``unsupported_media_type``: a cross-site page
  may send ``text/plain``, forms and multipart without asking, never JSON. A request
  naming none (``/jobs/{id}/cancel`` from the SDK, a script's bare body) is read as
  JSON; a browser sends such a request only with an ``Origin``, which the check above
  refuses.

The statuses are those of the error classes in ``leaseq.server.http.errors.STATUS``.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from leaseq.core.names import DEFAULT_PORTS, is_loopback, origin_key
from leaseq.errors import ForbiddenOrigin, LeaseqError, UnknownHost, UnsupportedMediaType
from leaseq.server.http.errors import error_response, status_of

_UNCHECKED_HOST_PATHS = frozenset({"/health"})
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class SitePolicy:
    check_host: bool
    """Whether ``Host`` must be a loopback name or one of ``hosts``."""
    hosts: frozenset[str]
    """Host names allowed besides loopback ones (``--allowed-host``), lower case."""
    origins: frozenset[tuple[str, int]]
    """Origins allowed besides the server's own (``--allow-origin``), as (host, port)."""

    @classmethod
    def of(cls, listen_host: str, allowed_hosts: tuple[str, ...],
           allow_origins: tuple[str, ...]) -> SitePolicy:  # fmt: skip
        """The policy of a server listening on ``listen_host``."""
        hosts = frozenset(h.lower().rstrip(".") for h in allowed_hosts)
        origins = frozenset(o for o in map(origin_key, allow_origins) if o is not None)
        return cls(bool(hosts) or is_loopback(listen_host), hosts, origins)

    def refusal(self, scope: Scope) -> LeaseqError | None:
        """Why this request is refused, or None."""
        headers = _wanted(scope["headers"])
        host = headers.get(b"host")
        if self.check_host and host is not None and scope["path"] not in _UNCHECKED_HOST_PATHS:
            name = _host_name(host.decode("latin-1"))
            if not (is_loopback(name) or name in self.hosts):
                return UnknownHost(f"this server does not answer for host {name!r}")
        origin = headers.get(b"origin")
        if origin is not None and not self._same_origin(origin.decode("latin-1"), host):
            return ForbiddenOrigin(
                "requests from pages of another origin are refused (see --allow-origin)"
            )
        if scope["method"] not in _BODYLESS_METHODS:
            return _media_refusal(headers)
        return None

    def _same_origin(self, origin: str, host: bytes | None) -> bool:
        key = origin_key(origin)
        if key is None:  # "null" (a sandboxed frame, a file: page) or garbage
            return False
        if key in self.origins:
            return True
        if host is None:
            return False
        scheme = origin.partition("://")[0].lower()
        return key == _host_key(host.decode("latin-1"), DEFAULT_PORTS.get(scheme, 0))


class CrossSiteGuard:
    """Answers a refused request itself; passes every other one on untouched."""

    def __init__(self, app: ASGIApp, policy: SitePolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.policy.refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response = error_response(status_of(refusal), refusal.code, refusal.message)
        await response(scope, receive, send)


def _host_key(host: str, default_port: int) -> tuple[str, int] | None:
    name, port = _split_host(host)
    try:
        return name, int(port) if port else default_port
    except ValueError:
        return None


def _host_name(host: str) -> str:
    return _split_host(host)[0]


def _split_host(host: str) -> tuple[str, str]:
    """``name:port``, ``[v6]:port`` or a bare name, into lower-case name and port text."""
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = host.partition(":")
    return name.rstrip("."), port


def _wanted(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The first of each header these checks read (names are lower case in ASGI)."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        if name in _READ and name not in found:
            found[name] = value
    return found


_READ = frozenset({b"host", b"origin", b"content-type"})


def _media_refusal(headers: dict[bytes, bytes]) -> LeaseqError | None:
    """A body without a content type is read as JSON, as before: programs send such
    bodies, and a browser never does without an ``Origin`` (a string body is sent as
    ``text/plain``, a Blob's as none, both with the page's origin), which is checked."""
    content_type = headers.get(b"content-type")
    if content_type is None or _is_json(content_type.decode("latin-1")):
        return None
    return UnsupportedMediaType(
        f"the body must be application/json, not {content_type.decode('latin-1')[:100]!r}"
    )


def _is_json(content_type: str) -> bool:
    kind, *params = (p.strip().lower() for p in content_type.split(";"))
    return kind == "application/json" and all(
        p.replace('"', "") in ("charset=utf-8", "") for p in params
    )
