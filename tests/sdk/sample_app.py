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
