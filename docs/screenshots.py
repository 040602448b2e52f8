"""Screenshots of every dashboard page at 1,280 px (and the overview at 390 px) for the
README: a fresh server on a temporary SQLite file, filled with jobs in every state, two
workers, a running job with progress and a checkpoint, and two schedules.

Usage (Debian's Chromium, the ui-test extra): python docs/screenshots.py docs
"""
import subprocess, sys, time, json, os, tempfile
import httpx
from playwright.sync_api import sync_playwright

PORT = 18999
URL = f"http://127.0.0.1:{PORT}"
db = tempfile.mkdtemp() + "/shots.db"
server = subprocess.Popen([sys.executable, "-m", "leaseq", "serve", "--port", str(PORT), "--db", f"sqlite:///{db}",
                           "--retry-base", "0.2", "--reap-interval", "0.2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            if httpx.get(URL + "/health").status_code == 200: break
        except httpx.HTTPError: pass
        time.sleep(0.1)
    h = httpx.Client(base_url=URL)
    jobs = [{"queue": "emails", "task": "send_email", "payload": {"to": f"user{i}@example.com"}, "tags": ["tenant:7", "welcome"] if i % 2 else ["tenant:9"]} for i in range(30)]
    jobs += [{"queue": "reports", "task": "build_report", "payload": {"day": i}, "delay": 3600} for i in range(5)]
    jobs += [{"queue": "images", "task": "resize", "payload": {"id": i}, "max_tries": 1, "timeout": 600} for i in range(12)]
    h.post("/enqueue", json={"jobs": jobs})
    got = h.post("/poll", json={"worker_id": "worker-a", "queues": ["images"], "max_jobs": 12, "concurrency": 8}).json()["jobs"]
    for i, j in enumerate(got[:6]):
        h.post("/fail", json={"job_id": j["id"], "lease_token": j["lease_token"], "retry": False,
               "error": "Traceback (most recent call last):\n  File \"app.py\", line 12, in resize\n    img = load(id)\nKeyError: 'id'" if i < 4 else "Traceback ...\nOSError: disk full",
               "error_type": "KeyError" if i < 4 else "OSError", "error_message": "'id'" if i < 4 else "disk full"})
    for j in got[6:9]:
        h.post("/ack", json={"job_id": j["id"], "lease_token": j["lease_token"], "result": {"ok": True}})
    running = got[9]
    h.post("/heartbeat", json={"job_id": running["id"], "lease_token": running["lease_token"], "progress": {"done": 37, "of": 100}, "checkpoint": {"row": 3700}})
    h.post("/poll", json={"worker_id": "worker-b", "queues": ["emails", "reports"], "max_jobs": 3, "concurrency": 16})
    h.put("/schedules/nightly-report", json={"cron": "30 2 * * *", "timezone": "Europe/Berlin", "job": {"payload": {}, "queue": "reports", "task": "build_report"}})
    h.put("/schedules/tick", json={"every": 1, "job": {"payload": {}, "queue": "ticks", "task": "tick"}})
    time.sleep(2.5)
    out = sys.argv[1] if len(sys.argv) > 1 else "docs"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium")
        page = b.new_page(viewport={"width": 1280, "height": 860})
        def shot(hash_, name, wait=None):
            page.goto(URL + "/#/" + hash_)
            page.wait_for_timeout(1200)
            page.screenshot(path=f"{out}/{name}", full_page=True)
        shot("", "dashboard-overview.png")
        shot("queue/emails/jobs/QUEUED", "dashboard-jobs.png")
        shot("queue/images/jobs/LEASED", "dashboard-leased.png")
        shot(f"job/{running['id']}", "dashboard-job-running.png")
        shot(f"job/{got[0]['id']}", "dashboard-job.png")
        shot("queue/images/dead", "dashboard-dead-letters.png")
        shot("workers", "dashboard-workers.png")
        shot("schedules", "dashboard-schedules.png")
        shot("queue/reports/jobs/SCHEDULED", "dashboard-scheduled.png")
        shot("jobs?tag=tenant:7", "dashboard-find.png")
        phone = b.new_page(viewport={"width": 390, "height": 844})
        phone.goto(URL + "/"); phone.wait_for_timeout(1200)
        phone.screenshot(path=f"{out}/dashboard-overview-phone.png", full_page=True)
        b.close()
finally:
    server.terminate(); server.wait(10)
