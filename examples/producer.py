"""Enqueue a few jobs, then wait for one result. Run after `leaseq serve` and a worker."""

import time

from tasks import app, resize, send_email

import leaseq

with app:
    job = send_email.enqueue("a@b.c", body="hi")
    send_email.enqueue_with(delay=5, idempotency_key="welcome-42")("x@y.z", body="later")
    resize.enqueue_many([(1,), (2,), {"image_id": 3, "width": 320}])
    for _ in range(50):
        done = app.client.get_job(job.id)
        if done.state is leaseq.JobState.DONE:
            print("result:", done.result)
            break
        time.sleep(0.1)
