"""The peer a data engineer would pick: dlt's ``rest_api`` source into DuckDB, in a process of its own.

``python -m bench.dlt_bench URL TOKEN WORKDIR`` pulls ``/tickets`` with dlt's documented configuration
only (bearer auth, the ``page_number`` paginator, merge on ``number``): no hand-written HTTP loop.
Page-number paging with ``per_page=50``: dlt's link-following paginator drops ``per_page`` from the
``next_page`` URL Groove returns and falls back to Groove's default of 25. Prints one JSON line:
records (rows in the destination table), seconds, peak_rss_mb, rate_limited (429s seen), error.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

from engagesync.ratemodel import optimal_schedule

from .harness import goal, sandbox_server
from .memchild import _peak_mb

Row = tuple[str, str, str, str]


def version() -> str:
    try:
        return metadata.version("dlt")
    except metadata.PackageNotFoundError:
        return "(not installed: pip install -e '.[bench]')"


def _json_child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", *args], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run_child(base_url: str, token: str) -> dict[str, Any]:
    """One dlt pull of every ticket in a process of its own, into a fresh working directory."""
    with tempfile.TemporaryDirectory() as tmp:
        return _json_child(["bench.dlt_bench", base_url, token, tmp])


def ours_child(base_url: str, token: str) -> dict[str, Any]:
    """One ``engagesync pull`` of every ticket in a process of its own (bench.memchild)."""
    with tempfile.TemporaryDirectory() as tmp:
        return _json_child(["bench.memchild", "pull", base_url, token, str(Path(tmp) / "m.duckdb"), "tickets"])


def peak_memory(tickets: int = 100_000) -> list[Row]:
    """Peak RSS of a pull of ``tickets`` tickets: engagesync and dlt, each in a fresh process."""
    with sandbox_server(
        "--no-rate-limits",
        "--count",
        f"groove-helpdesk.tickets={tickets}",
        "--count",
        f"groove-helpdesk.customers={max(1, tickets // 50)}",
        ready_timeout=120 + tickets / 500,
    ) as url:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        ours = ours_child(creds["base_url"], creds["token"])
        peer = run_child(creds["base_url"], creds["token"])
    return [
        (
            f"engagesync pull tickets, {int(ours['records']):,} records (own process)",
            f"{ours['peak_rss_mb']:.0f} MB peak",
            f"{ours['seconds']:.1f} s",
            "peak " + goal(ours["peak_rss_mb"], 200 if tickets <= 100_000 else 250, at_least=False, unit=" MB"),
        ),
        (
            f"dlt rest_api -> duckdb, {int(peer['records']):,} rows loaded (own process)",
            f"{peer['peak_rss_mb']:.0f} MB peak",
            f"{peer['seconds']:.1f} s",
            f"{peer['peak_rss_mb'] / ours['peak_rss_mb']:.1f}x engagesync's peak {peer['error']}".rstrip(),
        ),
    ]


def rate_limited(pages: int = 150, limit: int = 100, window: float = 60.0) -> list[Row]:
    """Both tools pull ``pages`` pages of 50 tickets under ``limit`` per ``window`` s, in real time (dlt
    has no virtual clock), each on a fresh credential: time vs the optimum, 429s, rows loaded."""
    rows: list[Row] = []
    tickets = pages * 50
    with sandbox_server("--count", f"groove-helpdesk.tickets={tickets}", ready_timeout=60 + tickets / 500) as url:
        for name, child in (("engagesync pull", ours_child), ("dlt rest_api", run_child)):
            # a reset clears the limiter's counts and issues a new token: each tool on an idle credential
            httpx.post(f"{url}/_sandbox/reset", json={"counts": {"groove-helpdesk.tickets": tickets}}, timeout=120)
            httpx.put(f"{url}/_sandbox/rate-limits/groove-helpdesk", json={"limit": limit, "window_seconds": window})
            creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
            run = child(creds["base_url"], creds["token"])
            needed = math.ceil(tickets / 50)
            start = float(run["started_at"])
            optimum = optimal_schedule(needed, limit, window, start=start)[-1] - start
            refused = int(run["rate_limited"])
            finished = int(run["records"]) >= tickets and not run.get("error")
            verdict = (
                f"vs optimum {goal(float(run['seconds']) / optimum, 1.02, at_least=False)}"
                if finished
                else f"did not finish ({int(run['records']):,} of {tickets:,} rows): MISS"
            )
            rows.append(
                (
                    f"{name}: {tickets:,} tickets ({needed} pages) under {limit} per {window:g} s, real time",
                    f"{run['seconds']:.1f} s",
                    f"{refused} x 429, {int(run['records']):,} rows loaded"
                    + (f"; {run['error']}" if run.get("error") else ""),
                    f"{verdict}; 429s {goal(refused, 0, at_least=False, unit='')}",
                )
            )
    rows.append(("optimum from the server's algorithm (last run's start)", f"{optimum:.1f} s", "0 x 429", "1.000x"))
    return rows


class _Count429(logging.Handler):
    """dlt retries a 429 itself and logs nothing per retry at the default level, so the 429s are
    counted from urllib3's debug lines of the session dlt uses (status code of every response)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if '" 429 ' in message:
            self.count += 1


def main(argv: list[str]) -> None:
    base_url, token, workdir = argv[:3]
    os.environ.setdefault("DLT_DATA_DIR", str(Path(workdir) / "dlt-data"))
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    # dlt's own retry (its documented default) is what a user would get on a 429.
    import dlt
    from dlt.sources.rest_api import rest_api_source

    counter = _Count429()
    urllib3_log = logging.getLogger("urllib3.connectionpool")
    urllib3_log.setLevel(logging.DEBUG)
    urllib3_log.addHandler(counter)
    config: dict[str, Any] = {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "bearer", "token": token},
            "paginator": {
                "type": "page_number",
                "base_page": 1,
                "page_param": "page",
                "total_path": "meta.pagination.total_pages",
            },
        },
        "resource_defaults": {"primary_key": "number", "write_disposition": "merge"},
        "resources": [
            {
                "name": "tickets",
                "endpoint": {"path": "tickets", "params": {"per_page": 50}, "data_selector": "tickets"},
            }
        ],
    }
    pipeline = dlt.pipeline(
        pipeline_name="bench_dlt",
        destination=dlt.destinations.duckdb(str(Path(workdir) / "dlt.duckdb")),
        dataset_name="groove",
        pipelines_dir=str(Path(workdir) / "pipelines"),
    )
    started_at = time.time()  # wall clock: the optimum is computed from it
    started = time.perf_counter()
    error = ""
    try:
        pipeline.run(rest_api_source(config))
    except Exception as exc:  # the row reports dlt's failure (e.g. retries exhausted on 429) rather than dying
        cause = getattr(exc, "exception", None) or exc  # PipelineStepFailed wraps the step's exception
        error = f"{type(cause).__name__}: {str(cause).splitlines()[0][:140]}"
    seconds = time.perf_counter() - started
    records = 0
    try:
        with pipeline.sql_client() as client:
            records = int(client.execute_sql("SELECT COUNT(*) FROM tickets")[0][0])
    except Exception:  # no table: nothing was loaded
        records = 0
    print(
        json.dumps(
            {
                "records": records,
                "seconds": round(seconds, 2),
                "started_at": started_at,
                "peak_rss_mb": round(_peak_mb(), 1),
                "rate_limited": counter.count,
                "error": error,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
