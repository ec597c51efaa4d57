"""``make bench``: run every benchmark and print one table of side-by-side figures."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from . import (
    connector_bench,
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
    parser.add_argument("--only", nargs="*", help="run only the benchmarks whose name contains one of these words")
    args = parser.parse_args()
    console = Console(width=140)
    table = Table(title="engagesync benchmarks (one run, side by side)")
    for column in ("measurement", "result", "detail", "ratio / goal"):
        table.add_column(column)
    for name, run in (
        ("sandbox page throughput", lambda: sandbox_bench.page_throughput(args.seconds)),
        ("bulk seed", lambda: sandbox_bench.bulk_seed(args.tickets)),
        ("pull throughput", lambda: connector_bench.pull_throughput()),
        ("incremental pull", lambda: incremental_bench.incremental()),
        ("rate-limited client", lambda: connector_bench.rate_limited()),
        ("push throughput", lambda: push_bench.push_throughput()),
        ("growthgenius pull", lambda: growthgenius_bench.pull_throughput()),
        ("groove-sales alias push", lambda: groove_sales_bench.alias_push()),
        ("pull memory", lambda: memory_bench.pull_memory(args.pull_records // 10, args.pull_records)),
        ("webhook receiver", lambda: webhooks_bench.receiver_throughput()),
        ("push memory", lambda: memory_bench.push_memory(args.push_rows // 10, args.push_rows, args.dry_run_rows)),
    ):
        if args.only and not any(word in name for word in args.only):
            continue
        console.print(f"running {name}…")
        for row in run():
            table.add_row(*row)
    console.print(table)


if __name__ == "__main__":
    main()
