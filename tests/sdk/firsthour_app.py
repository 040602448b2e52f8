"""An app as a newcomer writes it: tasks declared on a queue other than ``default``."""

from __future__ import annotations

import time

import leaseq

app = leaseq.App()  # LEASEQ_URL from the environment


@app.task(queue="emails")
def send_email(to: str) -> str:
    return f"sent to {to}"


@app.task(queue="emails", max_tries=1)
def boom(message: str) -> None:
    raise ValueError(message)


@app.task(queue="reports")
def slow_report(seconds: float) -> str:
    time.sleep(seconds)
    return "report"
