"""9. A SQLite database whose filesystem turns read-only (EROFS), or full (ENOSPC), while
the server runs, on ``faultfs``: every refused write is a clear 503 ``storage_read_only``
(507 ``storage_full``), never a 500 or a hang; reads are answered; writes resume without
a restart; then a power cut, and nothing answered 2xx may be missing from the disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.powerloss import skip_without_fuse
from tests.chaos.readonly import EXPECTED, refusal_episodes

FAST_EPISODES = 3
LONG_EPISODES = 30


def _check(name: str, tmp_path: Path, seed: int, mode: str, episodes: int) -> None:
    skip_without_fuse()
    figures, ledger, seen = refusal_episodes(name, tmp_path, seed, mode, episodes)
    status, code = EXPECTED[mode]
    print(f"{figures.line()} refusals={dict(ledger.refusals)} probes={seen.write_probes}"
          f" resumed_after_s={seen.resumed_after_s} messages={ledger.messages}")  # fmt: skip
    # A full disk still takes a write that fits in space the files already hold (SQLite
    # reuses its WAL from the start after a checkpoint); a read-only one takes none.
    allowed = {f"{status} {code}", *(["201 None"] if mode == "enospc" else [])}
    assert set(seen.write_probes) <= allowed, seen.write_probes
    assert ledger.refusals[f"/enqueue {status} {code}"] > 0, "no write was ever refused"
    assert not seen.read_failures, seen.read_failures
    # The server asks the filesystem why a write failed after it failed: when the switch
    # back to writable falls in between, the answer is the generic 503 (still a clear
    # "try again"). The probes, sent in the middle of a spell, must name the cause.
    ok = {f" {status} {code}", *([" 503 storage_unavailable"] if mode == "erofs" else [])}
    wrong = {k: n for k, n in ledger.refusals.items() if not k.endswith(tuple(ok))}
    assert not wrong, f"refusals other than {status} {code}: {wrong}"
    assert ledger.transport_errors == 0, "a request went unanswered (a hang or a crash)"
    assert not ledger.unknown, "an enqueue was still refused after the filesystem recovered"
    figures.assert_safe(refusals_allowed=True)


@pytest.mark.parametrize("mode", ["erofs", "enospc"])
def test_filesystem_refusing_writes_fast(tmp_path: Path, seed: int, mode: str) -> None:
    _check(f"refuse-{mode}", tmp_path, seed, mode, FAST_EPISODES)


@pytest.mark.chaos
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("mode", ["erofs", "enospc"])
def test_filesystem_refusing_writes_long(tmp_path: Path, seed: int, mode: str) -> None:
    _check(f"refuse-{mode}-long", tmp_path, seed, mode, LONG_EPISODES)
