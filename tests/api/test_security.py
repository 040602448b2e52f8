"""TLS, which only a real ``leaseq serve`` (uvicorn) terminates; authentication and
limits are tested in-process (``tests/app/test_security.py``)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import FAST
from tests.support.server import ServerProcess


def test_tls(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server: ServerProcess = server_factory(
        *FAST, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)
    )
    assert server.url.startswith("https://")
    with httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=cert)) as http:
        assert http.post("/enqueue", json={"payload": 1}).status_code == 201
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.url.replace("https", "http") + "/health")
