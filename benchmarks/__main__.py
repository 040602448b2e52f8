"""``python -m benchmarks``: leaseq and its peers, same machine, same run.

Prints one JSON line per result (median, min, max and every run) and writes the markdown
page and the chart. Peers whose packages are missing (``pip install -e '.[bench]'``) or
whose service is down are skipped with a message, as is ``leaseq-pg`` until
``leaseq serve --db postgresql://...`` works.

    python -m benchmarks                          # N=10,000, 1 run, every system (~10 min)
    python -m benchmarks --quick                  # tiny N, leaseq's raw rows + beanstalkd
    python -m benchmarks --jobs 2000 --repeat 1 --systems leaseq,celery
    python -m benchmarks --flat-cost              # adds 1,000,000 ready + 1,000,000 DONE
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shlex
import sys
import tempfile
import traceback
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import leaseq_only, report, scenarios
from benchmarks.measure import summarize
from benchmarks.peers import DEFAULT, MODULES, Settings, Skip, load, pg_common, redis_common
from benchmarks.procs import ROOT

Result = report.Result


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny N, leaseq's raw rows and beanstalkd only: the smoke test's run",
    )
    p.add_argument("--jobs", type=int, default=10_000, help="N jobs pre-filled and drained")
    p.add_argument(
        "--single-jobs",
        type=int,
        default=None,
        help="of N, enqueued one by one where a bulk call exists (default N/5)",
    )
    p.add_argument("--latency-jobs", type=int, default=300, help="jobs 20 ms apart")
    p.add_argument("--repeat", type=int, default=1, help="runs per scenario")
    p.add_argument("--producers", type=int, default=4, help="processes enqueueing 1 by 1")
    p.add_argument("--producer-threads", type=int, default=4, help="threads per producer")
    p.add_argument("--wrk-seconds", type=int, default=3, help="wrk's run against leaseq")
    p.add_argument(
        "--systems", default=",".join(DEFAULT), help=f"comma-separated, of: {', '.join(MODULES)}"
    )
    p.add_argument("--memory-rounds", type=int, default=3, help="0 skips the memory scenario")
    p.add_argument("--flat-cost", action="store_true", help="the big-store scenario (slow)")
    p.add_argument("--flat-ready", type=int, default=1_000_000)
    p.add_argument("--flat-small", type=int, default=1_000)
    p.add_argument("--redis-url", default=redis_common.DEFAULT_URL)
    p.add_argument("--pg-dsn", default=pg_common.DEFAULT_DSN)
    p.add_argument("--markdown", type=Path, default=ROOT / "docs" / "benchmarks.md")
    p.add_argument("--chart", type=Path, default=ROOT / "docs" / "benchmarks.png")
    p.add_argument("--note", default="", help="a paragraph put at the top of the page")
    p.add_argument("--work", type=Path, default=None, help="logs and stores (default: temp)")
    args = p.parse_args(argv)  # fmt: skip
    if args.quick:
        for name, value in QUICK.items():
            if getattr(args, name) == p.get_default(name):
                setattr(args, name, value)
    return args


QUICK = {
    "jobs": 200,
    "single_jobs": 64,
    "latency_jobs": 10,
    "repeat": 1,
    "memory_rounds": 0,
    "producers": 2,
    "producer_threads": 2,
    "wrk_seconds": 1,
    "systems": "leaseq,leaseq-unbatched,leaseq-fused,leaseq-raw-batched,beanstalkd",
}
"""``--quick``: what it changes of the defaults (an option given explicitly stays)."""


def require_loopback(*urls: str) -> None:
    """A benchmark floods its targets: only this machine's services may be one."""
    for url in urls:
        host = urlsplit(url).hostname or ""
        try:
            ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise SystemExit(f"refusing a non-loopback target: {url}")


def emit(results: list[Result], result: Result) -> None:
    results.append(result)
    print(json.dumps(result), flush=True)


def repeated(results: list[Result], system: str, scenario: str, runs: int, trial) -> None:  # type: ignore[no-untyped-def]
    """Runs ``trial()`` ``runs`` times; one result per metric, or one ``skipped`` line."""
    values: dict[str, list[float]] = {}
    try:
        for _ in range(runs):
            for metric, value in trial().items():
                values.setdefault(metric, []).append(value)
    except Skip as exc:
        emit(results, {"system": system, "scenario": scenario, "skipped": str(exc)})
        return
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        emit(results, {"system": system, "scenario": scenario,
                       "skipped": f"failed: {type(exc).__name__}: {exc}"[:300]})  # fmt: skip
        return
    for metric, runs_ in values.items():
        stats = {k: report.jsonable(v) for k, v in summarize(runs_).items()}
        emit(results, {"system": system, "scenario": scenario, "metric": metric, **stats,
                       "runs": [report.jsonable(v) for v in runs_]})  # fmt: skip


def run(args: argparse.Namespace, work: Path) -> list[Result]:
    os.environ[redis_common.URL_ENV] = args.redis_url  # read by the peers' app modules
    os.environ[pg_common.DSN_ENV] = args.pg_dsn
    single = args.single_jobs if args.single_jobs is not None else max(args.jobs // 5, 32)
    plan = scenarios.Plan(
        args.jobs, single, args.producers, args.producer_threads, args.latency_jobs
    )
    results: list[Result] = []

    def settings() -> Settings:
        return Settings(work, args.redis_url, args.pg_dsn, extra={"wrk_seconds": args.wrk_seconds})

    for system in [s.strip() for s in args.systems.split(",") if s.strip()]:
        try:
            load(system)
        except ImportError as exc:
            reason = f"not installed ({exc}); pip install -e '.[bench]'"
            emit(results, {"system": system, "scenario": "compare", "skipped": reason})
            continue
        repeated(results, system, "compare", args.repeat,
                 lambda s=system: scenarios.compare(s, settings(), plan))  # fmt: skip
    if args.memory_rounds:
        repeated(results, "leaseq", "memory", 1,
                 lambda: leaseq_only.memory(settings(), args.jobs, args.memory_rounds))  # fmt: skip
    if args.flat_cost:
        for size in (args.flat_small, args.flat_ready):
            label = f"{size:,} ready + {size:,} DONE"
            repeated(
                results,
                label,
                "flat_cost",
                args.repeat,
                lambda n=size: leaseq_only.flat_cost(settings(), n, args.flat_small),
            )
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    require_loopback(args.redis_url, args.pg_dsn)
    start_load = "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="leaseq-bench-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results = run(args, work)
    end_load = "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())
    command = "python -m benchmarks " + shlex.join(argv if argv is not None else sys.argv[1:])
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(report.markdown(results, command, (start_load, end_load), args.note))
    print(f"wrote {args.markdown}", file=sys.stderr)
    if any("metric" in r and r["scenario"] == "compare" for r in results):
        try:
            report.chart(results, args.chart)
            print(f"wrote {args.chart}", file=sys.stderr)
        except ImportError:
            print(
                "no chart: matplotlib is not installed (pip install -e '.[bench]')", file=sys.stderr
            )


if __name__ == "__main__":
    main()
