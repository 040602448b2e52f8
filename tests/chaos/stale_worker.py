"""Worker A of the fencing test, a process of its own so the harness can SIGSTOP it.

It reads one JSON command per line on stdin and answers one JSON line on stdout:
``{"do": "poll", "n": N}`` leases up to N jobs for one second and prints them;
``{"do": "stale", "ops": [[path, job_id, token], ...]}`` sends each operation with the
token it held and prints the status codes it got back; ``{"do": "send", "ops": [[path,
body], ...]}`` sends whole bodies (a heartbeat with progress and a checkpoint, say) and
prints ``[status, error code]`` of each. A poll may name its ``lease_seconds`` (1 else).
"""

from __future__ import annotations

import json
import sys

import httpx


def main(url: str, queue: str) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        for line in sys.stdin:
            cmd = json.loads(line)
            if cmd["do"] == "poll":
                body = {"worker_id": "A", "queues": [queue], "max_jobs": cmd["n"],
                        "lease_seconds": cmd.get("lease_seconds", 1), "wait": 5}  # fmt: skip
                answer: object = http.post("/poll", json=body).json()["jobs"]
            elif cmd["do"] == "send":
                answer = [_sent(http.post(path, json=body)) for path, body in cmd["ops"]]
            else:
                answer = [
                    http.post(path, json={"job_id": job_id, "lease_token": token}).status_code
                    for path, job_id, token in cmd["ops"]
                ]
            print(json.dumps(answer), flush=True)


def _sent(r: httpx.Response) -> list[object]:
    return [r.status_code, r.json().get("error", {}).get("code")]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
