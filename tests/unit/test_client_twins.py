"""``Client`` is generated from ``AsyncClient`` and must stay so (see ``client/aio.py``)."""

from __future__ import annotations

import inspect

from leaseq.client import AsyncClient, Client, _unasync


def test_sync_client_is_generated_from_the_async_one() -> None:
    expected = _unasync.generate(_unasync.SOURCE.read_text(encoding="utf-8"))
    actual = _unasync.TARGET.read_text(encoding="utf-8")
    assert actual == expected, "client/sync.py is stale: run python -m leaseq.client._unasync"


def test_check_mode_fails_on_drift(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    stale = tmp_path / "sync.py"
    stale.write_text(_unasync.TARGET.read_text(encoding="utf-8") + "# a hand edit\n")
    monkeypatch.setattr(_unasync, "TARGET", stale)
    assert _unasync.main(["--check"]) == 1
    assert _unasync.main([]) == 0 and _unasync.main(["--check"]) == 0


def _surface(cls: type) -> dict[str, str]:
    """Each public method's signature, in the words of the blocking client."""
    names = {name for name in vars(cls) if not name.startswith("_") or name == "__init__"}
    return {
        _unasync.unasync_line(name): _unasync.unasync_line(str(inspect.signature(vars(cls)[name])))
        for name in names
    }


def test_the_twins_have_the_same_methods_and_colours() -> None:
    assert _surface(AsyncClient) == _surface(Client)
    assert "enqueue" in _surface(Client) and "close" in _surface(Client)
    for name, method in vars(AsyncClient).items():
        if callable(method) and not name.startswith("_"):
            assert inspect.iscoroutinefunction(method), name
            assert not inspect.iscoroutinefunction(getattr(Client, _unasync.unasync_line(name)))
