"""Turns results into JSON lines, the markdown page and the chart."""

from __future__ import annotations

import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.peers import MODULES, load

Result = dict[str, Any]

COLUMNS = [
    ("enqueue_one_jobs_per_s", "enqueue 1 by 1 (jobs/s)"),
    ("enqueue_seq_jobs_per_s", "one producer (jobs/s)"),
    ("enqueue_bulk_jobs_per_s", "bulk enqueue (jobs/s)"),
    ("drain_jobs_per_s", "drain (jobs/s)"),
    ("latency_p50_ms", "enqueue→start p50 (ms)"),
    ("latency_p99_ms", "p99 (ms)"),
    ("server_rss_peak_mb", "server RSS (MB)"),
    ("workers_rss_peak_mb", "workers RSS (MB)"),
]
PACKAGES = ["leaseq", "celery", "kombu", "redis", "rq", "dramatiq", "huey", "procrastinate",
            "psycopg", "httpx", "uvicorn", "starlette", "msgspec"]  # fmt: skip
METHOD = """\
Every system runs the same job, `benchmarks.starts.record(i)`: it appends the job's index and
`time.time()` to a file of its worker process. For each system and each run: its store is
emptied; `single` jobs are enqueued one by one, the first 1,000 of them (at most a quarter)
by one sequential producer (*one producer*), the others by 4 producer processes x 4 threads
(16 calls in flight; the threads of a process share one client where the system's client is
made to be shared: leaseq's `Client`, huey's `RedisHuey`; the first call of each thread opens
its connection and is not timed); the rest of
the N jobs are enqueued with the system's bulk call where it has one (else one by one too);
then 2 worker processes (or the system's equivalent, below) are started and drain the N
jobs. *Drain* is N divided by the time from the first job's start to the last's, so worker
start-up does not count. Then, with the workers idle, jobs are enqueued one at a time 20 ms
apart and *enqueue→start* is the time from just before the enqueue call to the job's start.
RSS is the peak resident memory of the server (leaseq) and of all worker processes together
(children included), sampled every 0.25 s during the drain; the peers' Redis and PostgreSQL
are shared services of the machine, so their RSS is not counted. Each cell is the median of the
runs, ± the spread (max - min) in percent of the median."""


RERUN = """\
On an idle machine (`uptime` load below 1), with Redis and PostgreSQL on loopback, and
beanstalkd installed (Debian: `apt-get install -y beanstalkd`; the benchmark starts it):

    pip install -e '.[test,bench]'
    python -m benchmarks                      # N=10,000, 1 run, every system (~10 min)
    python -m benchmarks --quick              # tiny N: leaseq's raw rows and beanstalkd (~30 s)
    python -m benchmarks --jobs 100000 --repeat 3   # the long run (~1 h)
    python -m benchmarks --flat-cost          # also 1,000,000 ready + 1,000,000 DONE (long)
    python -m benchmarks.per_request          # server CPU and switches per request, sequential
    python -m benchmarks.client_cpu           # the Python client's CPU per call
    python -m benchmarks.profile_server       # py-spy profile of the server (pip install py-spy)

`--jobs`, `--repeat`, `--systems`, `--redis-url` and `--pg-dsn` change the run; every
result is also printed as one JSON line."""


def jsonable(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else round(value, 2)


def _cell(result: Result | None) -> str:
    if result is None or result["median"] is None:  # not measured, or nan in JSON
        return "n/a"
    med = result["median"]
    text = f"{med:,.0f}" if med >= 100 else f"{med:.1f}"
    return f"{text} ±{result['spread_pct']:.0f}%"


def _small(result: Result | None) -> str:
    """A cell that may be well below 1 (requests or switches per job)."""
    if result is None or result["median"] is None or result["median"] >= 10:
        return _cell(result)
    return f"{result['median']:.2f}"


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine() -> list[str]:
    cpu = next((ln.split(":", 1)[1].strip() for ln in _run(["lscpu"]).splitlines()
                if ln.startswith("Model name")), platform.processor())  # fmt: skip
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = []
    for p in PACKAGES:
        try:
            versions.append(f"{p} {metadata.version(p)}")
        except metadata.PackageNotFoundError:
            pass
    return [
        f"- CPU: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; {platform.platform()}",
        f"- Python {platform.python_version()}; {', '.join(versions)}",
        f"- Redis {redis_info()}; PostgreSQL {pg_info()}",
    ]


def redis_info() -> str:
    info = _run(["redis-cli", "info", "server"])
    version = info.split("redis_version:")[-1].split()[0] if "redis_version" in info else "?"
    aof = _run(["redis-cli", "config", "get", "appendonly"]).split()
    save = _run(["redis-cli", "config", "get", "save"]).split("\n")
    saves = save[1] if len(save) > 1 else ""
    return f"{version} (appendonly {aof[-1] if aof else '?'}, save {saves!r})"


def pg_info() -> str:
    try:
        from benchmarks.peers import pg_common

        return pg_common.settings_line(pg_common.dsn())
    except Exception as exc:  # the page is still worth writing without it
        return f"? ({type(exc).__name__})"


def _by(results: list[Result], scenario: str) -> dict[str, dict[str, Result]]:
    table: dict[str, dict[str, Result]] = {}
    for r in results:
        if r.get("scenario") == scenario and "metric" in r:
            table.setdefault(r["system"], {})[r["metric"]] = r
    return table


def _med(cmp: dict[str, dict[str, Result]], system: str, metric: str) -> float | None:
    r = cmp.get(system, {}).get(metric)
    return None if r is None or r["median"] is None else float(r["median"])


def fastest_peer(cmp: dict[str, dict[str, Result]], metric: str) -> tuple[str, float] | None:
    """The peer (not leaseq) with the best median of ``metric`` in this run."""
    values = [(s, v) for s in cmp if not s.startswith("leaseq")
              if (v := _med(cmp, s, metric)) is not None]  # fmt: skip
    if not values:
        return None
    lower = metric.startswith("latency")
    return (min if lower else max)(values, key=lambda sv: sv[1])


def targets(results: list[Result]) -> list[str]:
    """Issue 15's targets, met or missed, from the medians of this run."""
    cmp = _by(results, "compare")
    huey_drain, huey_enq = (
        _med(cmp, "huey", "drain_jobs_per_s"),
        _med(cmp, "huey", "enqueue_one_jobs_per_s"),
    )
    huey_p50 = _med(cmp, "huey", "latency_p50_ms")
    best = fastest_peer(cmp, "drain_jobs_per_s")

    def times(v: float | None, k: float) -> float | None:
        return None if v is None else k * v

    drain = {s: _med(cmp, s, "drain_jobs_per_s") for s in cmp}
    batched = max((v for s in ("leaseq", "leaseq-raw-batched") if (v := drain.get(s))),
                  default=None)  # fmt: skip
    checks = [
        ("1. one request per poll and per ack (leaseq-unbatched) drains ≥ huey",
         _med(cmp, "leaseq-unbatched", "drain_jobs_per_s"), huey_drain, True),
        ("2. fused ack-and-poll (leaseq-fused) drains ≥ 1.5x huey",
         _med(cmp, "leaseq-fused", "drain_jobs_per_s"), times(huey_drain, 1.5), True),
        ("3. enqueue one by one, 16 producers (leaseq-unbatched) ≥ 0.5x huey",
         _med(cmp, "leaseq-unbatched", "enqueue_one_jobs_per_s"), times(huey_enq, 0.5), True),
        ("3. enqueue one by one, 16 producers (leaseq, the SDK: a client per process) ≥ 0.5x huey",
         _med(cmp, "leaseq", "enqueue_one_jobs_per_s"), times(huey_enq, 0.5), True),
        ("3. enqueue one by one, one sequential producer (leaseq-unbatched) ≥ 0.3x huey",
         _med(cmp, "leaseq-unbatched", "enqueue_seq_jobs_per_s"),
         times(_med(cmp, "huey", "enqueue_seq_jobs_per_s"), 0.3), True),
        ("3. enqueue one by one, one sequential producer (leaseq, the SDK) ≥ 0.3x huey",
         _med(cmp, "leaseq", "enqueue_seq_jobs_per_s"),
         times(_med(cmp, "huey", "enqueue_seq_jobs_per_s"), 0.3), True),
        ("4. latency p50 ≤ 2x huey (leaseq-fused)", _med(cmp, "leaseq-fused", "latency_p50_ms"),
         times(huey_p50, 2), False),
        ("4. latency p50 ≤ 2x huey (leaseq, the SDK worker)", _med(cmp, "leaseq", "latency_p50_ms"),
         times(huey_p50, 2), False),
        ("4. latency p99 ≤ 3 ms (leaseq-fused)", _med(cmp, "leaseq-fused", "latency_p99_ms"), 3.0,
         False),
        ("4. latency p99 ≤ 3 ms (leaseq, the SDK worker)", _med(cmp, "leaseq", "latency_p99_ms"),
         3.0, False),
        (f"5. batched drain (best of leaseq, leaseq-raw-batched) ≥ 2x the fastest peer"
         f" ({best[0] if best else '?'})", batched, times(best[1] if best else None, 2), True),
        ("6. `leaseq worker` (leaseq) drains ≥ the raw batched harness (leaseq-raw-batched)",
         drain.get("leaseq"), drain.get("leaseq-raw-batched"), True),
        ("7. PostgreSQL, 2 nodes, batched ≥ 10,000 jobs/s", drain.get("leaseq-pg"), 10_000, True),
        ("7. PostgreSQL, 2 nodes, one request per operation ≥ huey/2",
         _med(cmp, "leaseq-pg-unbatched", "drain_jobs_per_s"), times(huey_drain, 0.5), True),
    ]  # fmt: skip
    lines = []
    for label, value, bound, higher in checks:
        if value is None or bound is None:
            lines.append(f"- {label}: not measured in this run")
            continue
        ok = value >= bound if higher else value <= bound
        lines.append(f"- {label}: {'met' if ok else '**missed**'} ({value:,.1f} vs {bound:,.1f})")
    return lines


RATIOS = [
    ("drain_jobs_per_s", "drain ÷ fastest peer"),
    ("enqueue_one_jobs_per_s", "enqueue 1 by 1 ÷ fastest peer"),
    ("latency_p50_ms", "p50 ÷ fastest peer"),
]
PER_REQUEST = [
    ("requests_per_job", "requests per job"),
    ("server_cpu_us_per_request", "server CPU µs per request"),
    ("server_switches_per_request", "server switches per request"),
    ("server_cpu_us_per_job", "server CPU µs per job"),
    ("server_switches_per_job", "server switches per job"),
]


def ratio_table(cmp: dict[str, dict[str, Result]]) -> list[str]:
    """Each system's median against the fastest peer's of the same run (>1 is faster,
    for latency <1 is faster)."""
    best = {m: fastest_peer(cmp, m) for m, _ in RATIOS}
    head = " | ".join(f"{label} ({b[0]})" if (b := best[m]) else label for m, label in RATIOS)
    out = [f"| system | {head} |", "|---" * (len(RATIOS) + 1) + "|"]
    for system in (s for s in MODULES if s in cmp):
        cells = []
        for metric, _ in RATIOS:
            v, b = _med(cmp, system, metric), best[metric]
            cells.append("n/a" if v is None or b is None or not b[1] else f"{v / b[1]:.2f}x")
        out.append(f"| {system} | " + " | ".join(cells) + " |")
    return out


def cost_table(cmp: dict[str, dict[str, Result]]) -> list[str]:
    rows = [s for s in MODULES if s in cmp and any(m in cmp[s] for m, _ in PER_REQUEST)]
    out = ["| system | " + " | ".join(label for _, label in PER_REQUEST) + " |",
           "|---" * (len(PER_REQUEST) + 1) + "|"]  # fmt: skip
    for s in rows:
        out.append(f"| {s} | " + " | ".join(_small(cmp[s].get(m)) for m, _ in PER_REQUEST) + " |")
    return out


def markdown(results: list[Result], command: str, loads: tuple[str, str], note: str = "") -> str:
    cmp = _by(results, "compare")
    out = ["# Benchmarks", "", "Generated by `python -m benchmarks`; rerun it to refresh this "
           "page and `docs/benchmarks.png`. Where the time goes and why targets are missed:"
           " `docs/performance.md` (by hand).", "",
           *([f"**{note}**", ""] if note else []),
           "## Machine and versions", "", *machine(),
           f"- Load average (1, 5, 15 min) at the start: {loads[0]}; at the end: {loads[1]}",
           "", "Command:", "", f"    {command}", "",
           "## Ratios to the fastest peer of the same run", "", *ratio_table(cmp), "",
           "## leaseq and its peers", "", METHOD, "",
           "| system | " + " | ".join(label for _, label in COLUMNS) + " | durable? |",
           "|---" * (len(COLUMNS) + 2) + "|"]  # fmt: skip
    for system in MODULES:
        if system not in cmp:
            continue
        cells = [_cell(cmp[system].get(metric)) for metric, _ in COLUMNS]
        out.append(f"| {system} | " + " | ".join(cells) + f" | {load(system).durable} |")
    out += ["", "Server cost over the drain (CPU of every thread, user + system, and voluntary"
            " context switches, read from `/proc`; requests counted by the server's `/metrics`;"
            " worker start-up included):", "", *cost_table(cmp)]  # fmt: skip
    out += ["", "Worker configuration:", ""]
    out += [f"- **{s}**: {load(s).worker_config}" for s in MODULES if s in cmp]
    wrk = cmp.get("leaseq-unbatched", {}).get("wrk_enqueue_one_req_per_s")
    if wrk is not None:
        out += ["", f"`wrk -t2 -c16` POSTing single enqueues to the same server: {_cell(wrk)} "
                "requests/s, against the Python producers' rate above: when the two are close "
                "the producers are not the bottleneck."]  # fmt: skip
    for scenario, title in (("flat_cost", "Flat cost"), ("memory", "Memory")):
        rows = _by(results, scenario)
        if rows:
            out += ["", f"## {title} (leaseq)", "", "| store | metric | value |", "|---|---|---|"]
            for system, metrics in rows.items():
                out += [f"| {system} | {m} | {_cell(r)} |" for m, r in metrics.items()]
    skipped = [r for r in results if "skipped" in r]
    if skipped:
        out += ["", "## Skipped", ""] + [f"- {r['system']}: {r['skipped']}" for r in skipped]
    out += [
        "",
        "## Targets",
        "",
        *targets(results),
        "",
        "![jobs/s per system](benchmarks.png)",
        "",
        "## Rerun",
        "",
        RERUN,
    ]
    return "\n".join(out)


def chart(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cmp = _by(results, "compare")
    systems = [s for s in MODULES if s in cmp]
    metrics = COLUMNS[:3]
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / len(metrics)
    for k, (metric, label) in enumerate(metrics):
        xs, ys, lo, hi = [], [], [], []
        for n, s in enumerate(systems):
            r = cmp[s].get(metric)
            if r is None:
                continue
            xs.append(n + (k - 1) * width)
            ys.append(r["median"])
            lo.append(r["median"] - r["min"])
            hi.append(r["max"] - r["median"])
        bars = ax.bar(xs, ys, width, label=label, yerr=[lo, hi], capsize=3)
        ax.bar_label(bars, labels=[f"{y:,.0f}" for y in ys], fontsize=7, padding=2)
    ax.set_xticks(range(len(systems)), systems, rotation=20)
    ax.set_yscale("log")
    ax.set_ylabel("jobs/s (log scale; bars: median, whiskers: min-max)")
    ax.set_title("Jobs per second, same machine, same run")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=len(metrics))
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
