"""``make bench``: run every benchmark and print one table of side-by-side figures."""

from __future__ import annotations

import argparse
import os
import time

from rich.console import Console
from rich.table import Table

from . import (
    connector_bench,
    dlt_bench,
    groove_sales_bench,
    growthgenius_bench,
    incremental_bench,
    memory_bench,
    push_bench,
    sandbox_bench,
    webhooks_bench,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets for the bulk-seed run")
    parser.add_argument(
        "--pull-records",
        type=int,
        default=1_000_000,
        help="records of the larger memory-measured pull (the smaller is a tenth); 1000000 for 1M",
    )
    parser.add_argument(
        "--push-rows", type=int, default=5_000, help="rows of the larger memory-measured push (the smaller is a tenth)"
    )
    parser.add_argument("--dry-run-rows", type=int, default=1_000_000, help="rows of the memory-measured dry run")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few minutes: fewer records, one run per ratio, and no row that waits on a 60 s window",
    )
    parser.add_argument("--peer-tickets", type=int, default=100_000, help="tickets of the dlt peak-memory row")
    parser.add_argument("--peer-pages", type=int, default=150, help="pages of the dlt row under 100 per 60 s")
    parser.add_argument("--only", nargs="*", help="run only the benchmarks whose name contains one of these words")
    args = parser.parse_args()
    runs = 1 if args.quick else 3
    pull_tickets = 2_000 if args.quick else 20_000
    if args.quick:
        args.seconds, args.tickets, args.pull_records = 1.0, 10_000, 100_000
        args.push_rows, args.dry_run_rows, args.peer_tickets = 1_000, 100_000, 10_000
    console = Console(width=160)
    title = "one run of each pair (--quick)" if args.quick else "ratios: median of 3 runs, alternating order"
    table = Table(title=f"engagesync benchmarks, side by side ({title})")
    for column in ("measurement", "result", "detail", "ratio / goal"):
        table.add_column(column)
    slow = {"rate-limited client at 100 per 60 s", "dlt under 100 per 60 s"}
    bench_started = time.perf_counter()
    for name, run in (
        ("sandbox page throughput", lambda: sandbox_bench.page_throughput(args.seconds, runs)),
        ("bulk seed", lambda: sandbox_bench.bulk_seed(args.tickets)),
        ("pull throughput", lambda: connector_bench.pull_throughput(pull_tickets, runs)),
        ("dlt peak memory", lambda: dlt_bench.peak_memory(args.peer_tickets)),
        ("dlt under 100 per 60 s", lambda: dlt_bench.rate_limited(args.peer_pages)),
        ("incremental pull", lambda: incremental_bench.incremental()),
        ("rate-limited client", lambda: connector_bench.rate_limited()),
        ("rate-limited client, CPU contended", lambda: connector_bench.rate_limited(burners=2)),
        ("rate-limited client at 100 per 60 s", lambda: connector_bench.rate_limited(130, 100, 60.0)),
        ("push throughput", lambda: push_bench.push_throughput(500 if args.quick else 2_000, runs)),
        ("growthgenius pull", lambda: growthgenius_bench.pull_throughput(5_000 if args.quick else 20_000, runs)),
        ("groove-sales alias push", lambda: groove_sales_bench.alias_push()),
        ("pull memory", lambda: memory_bench.pull_memory(args.pull_records // 10, args.pull_records)),
        ("webhook receiver", lambda: webhooks_bench.receiver_throughput()),
        ("push memory", lambda: memory_bench.push_memory(args.push_rows // 10, args.push_rows, args.dry_run_rows)),
    ):
        if args.only and not any(word in name for word in args.only):
            continue
        if args.quick and name in slow:
            continue
        console.print(f"running {name}…")
        started = time.perf_counter()
        for row in run():
            table.add_row(*row)
        console.print(f"  {name}: {time.perf_counter() - started:.0f} s")
    console.print(table)
    load = os.getloadavg()
    console.print(
        f"bench took {time.perf_counter() - bench_started:.0f} s; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
