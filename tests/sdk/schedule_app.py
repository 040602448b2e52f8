"""An app with a schedule, for ``tests/sdk/test_schedules.py``: apart from
``sample_app`` so that the other worker tests never see a slot's job. ``tick`` appends
one line per run to ``$LEASEQ_TEST_TICKS``."""

from __future__ import annotations

import os

import leaseq

app = leaseq.App()  # LEASEQ_URL from the environment


@app.task(every=1, queue="ticks")
def tick() -> None:
    with open(os.environ["LEASEQ_TEST_TICKS"], "a", encoding="utf-8") as f:
        f.write(f"tick {os.getpid()}\n")
