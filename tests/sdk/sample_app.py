"""Tasks the worker acceptance tests run. ``record`` appends one line per execution to a
file, so a test can count how many times a job really ran."""

from __future__ import annotations

import asyncio
import os
import time

import leaseq

app = leaseq.App()  # LEASEQ_URL from the environment


@app.task(queue="default")
def add(a: int, b: int) -> int:
    return a + b


@app.task(queue="default")
async def multiply(a: int, b: int) -> int:
    await asyncio.sleep(0.001)
    return a * b


@app.task(queue="default")
def record(path: str, tag: str, seconds: float = 0.0) -> str:
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{tag} start {os.getpid()}\n")
    time.sleep(seconds)
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{tag} end {os.getpid()}\n")
    return tag


@app.task(queue="default")
async def record_async(path: str, tag: str, seconds: float = 0.0) -> str:
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{tag} start {os.getpid()}\n")
    await asyncio.sleep(seconds)
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{tag} end {os.getpid()}\n")
    return tag


@app.task(queue="default", max_tries=3)
def boom(message: str) -> None:
    raise ValueError(message)


@app.task(queue="default")
def give_up(message: str) -> None:
    raise leaseq.Permanent(message)


@app.task(queue="default")
def noop() -> None:
    return None


@app.task(queue="default")
def not_json() -> object:
    return object()


def _note(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{line}\n")


@app.task(queue="default", timeout=2, max_tries=3)
def hang_once(path: str) -> int:
    """Hangs for good on its first attempt (a plain function: no way to stop it but to
    time it out), returns on the next."""
    job = leaseq.current_job()
    _note(path, f"start {job.attempt} {os.getpid()}")
    if job.attempt == 1:
        time.sleep(3600)
    return job.attempt


@app.task(queue="default")
async def spin(path: str) -> None:
    """Ticks until it is cancelled; notes the cancel it receives."""
    try:
        while True:
            _note(path, f"tick {time.monotonic()}")
            await asyncio.sleep(0.05)
    except asyncio.CancelledError:
        _note(path, f"cancelled {time.monotonic()}")
        raise


@app.task(queue="default")
def spin_sync(path: str) -> str:
    """A plain function that looks at ``cancelled`` between steps, and returns."""
    job = leaseq.current_job()
    while not job.cancelled:
        job.progress({"at": time.monotonic()})
        time.sleep(0.05)
    _note(path, f"saw-cancelled {time.monotonic()}")
    return "stopped"


@app.task(queue="default", max_tries=5)
def resumable(path: str, steps: int) -> list[int]:
    """Runs ``steps`` steps, saving a checkpoint after each; a retry starts after the
    last one saved."""
    job = leaseq.current_job()
    start = job.checkpoint or 0
    _note(path, f"resume {start} attempt {job.attempt}")
    for step in range(start, steps):
        _note(path, f"step {step}")
        time.sleep(0.15)
        job.progress({"done": step + 1, "of": steps})  # goes with the checkpoint's flush
        job.save_checkpoint(step + 1, flush=True)
    return list(range(steps))


@app.task(queue="default", max_tries=2)
def fail_after_checkpoint() -> object:
    """Saves a checkpoint without sending it, then fails: the fail carries it."""
    job = leaseq.current_job()
    if job.attempt == 1:
        job.save_checkpoint({"half": True})
        raise ValueError("first half only")
    return job.checkpoint
