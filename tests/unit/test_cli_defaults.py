"""The CLI's flags are the config objects' fields, with the config objects' defaults."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
from typer.testing import CliRunner

from leaseq.cli import app, serve, settings_fields
from leaseq.cli.worker import worker
from leaseq.client.worker_config import WorkerConfig
from leaseq.core.limits import MAX_BATCH
from leaseq.server.config import Durability, Settings


def _defaults(fn: Any) -> dict[str, Any]:
    return {
        name: p.default
        for name, p in inspect.signature(fn).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def test_serve_has_one_flag_per_setting_with_its_default() -> None:
    assert settings_fields(_defaults(serve)) == dataclasses.asdict(Settings())


def test_worker_defaults_are_worker_configs() -> None:
    flags = _defaults(worker)
    config = dataclasses.asdict(WorkerConfig())
    config.pop("worker_id")
    config["queues"] = ",".join(config["queues"]) or None  # none: the app's tasks' queues
    assert {name: flags[name] for name in config} == config


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """What ``serve`` would run, instead of running it."""
    seen: list[Settings] = []
    monkeypatch.setattr("leaseq.server.run.serve", seen.append)
    return seen


def test_serve_builds_settings_from_flags_and_env(started: list[Settings]) -> None:
    args = ["serve", "--port", "9", "--token", "worker:w", "--token", "root", "--durability",
            "normal"]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"LEASEQ_RETENTION": "5"})
    assert result.exit_code == 0, result.output
    expected = Settings(port=9, tokens=("worker:w", "root"), durability=Durability.NORMAL,
                        retention=5.0)  # fmt: skip
    assert started == [expected]


def test_serve_reports_settings_problems_as_usage_errors(started: list[Settings]) -> None:
    result = CliRunner().invoke(app, ["serve", "--retry-base", "0"], env={"COLUMNS": "200"})
    assert result.exit_code == 2 and not started
    assert "retry_base must be > 0" in result.output


def test_enqueue_help_states_the_batch_limit() -> None:
    # The help is a docstring, so it spells the number; this keeps it the real one.
    result = CliRunner().invoke(app, ["enqueue", "--help"], env={"COLUMNS": "200"})
    assert f"in batches of {MAX_BATCH}" in result.output
