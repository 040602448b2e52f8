"""The task the chaos workers run: it appends one JSON line when an execution starts and
one when it ends to ``exec-<pid>.jsonl``, so the harness sees every execution, including
those a ``kill -9`` cut short (a start line without its end)."""

from __future__ import annotations

import json
import os
import time

import leaseq

app = leaseq.App()  # LEASEQ_URL from the environment

QUEUE = "chaos"


def _note(out_dir: str, key: str, what: str) -> None:
    line = json.dumps({"key": key, "pid": os.getpid(), "what": what, "at": time.time()})
    # One short write to a file opened with O_APPEND lands whole, even if we die next.
    with open(os.path.join(out_dir, f"exec-{os.getpid()}.jsonl"), "a", encoding="utf-8") as f:
        f.write(line + "\n")


@app.task(queue=QUEUE, max_tries=1000)
def run(key: str, out_dir: str, seconds: float = 0.0) -> str:
    _note(out_dir, key, "start")
    time.sleep(seconds)
    _note(out_dir, key, "end")
    return key
