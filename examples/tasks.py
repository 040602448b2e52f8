"""The tasks both the producer and the worker import: `leaseq worker tasks:app`."""

import asyncio

import leaseq

app = leaseq.App()  # LEASEQ_URL, default http://127.0.0.1:8080


@app.task(queue="emails", max_tries=5)
def send_email(to: str, body: str) -> dict[str, str]:
    if "@" not in to:
        raise leaseq.Permanent(f"not an address: {to}")  # no retry
    print(f"sending to {to}: {body}")
    return {"sent_to": to}


@app.task(queue="default")
async def resize(image_id: int, width: int = 640) -> str:
    await asyncio.sleep(0.1)  # async tasks run on the worker's event loop
    return f"{image_id}@{width}"
