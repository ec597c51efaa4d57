"""Peak memory of a pull and of a push at two sizes, each in a fresh process: flat means the larger
run peaks no higher than the smaller one (plus noise), whatever the count."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from engagesync.sync.store.base import DEFAULT_MEMORY

from .harness import goal, sandbox_server

Row = tuple[str, str, str, str]


def _child(*args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-m", "bench.memchild", *args], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _csv(path: Path, rows: int, mailbox: str, prefix: str) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["email", "message", "subject", "inbox"])
        for i in range(rows):
            writer.writerow([f"{prefix}{i}@mem.example", f"Question {i} about my order", f"Order {i}", mailbox])


def pull_memory(small: int, large: int) -> list[Row]:
    rows: list[Row] = []
    runs = []
    for count in (small, large):
        # customers: a million of them seed in under a minute (a million tickets bring three million messages)
        with (
            sandbox_server(
                "--no-rate-limits",
                "--count",
                "groove-helpdesk.tickets=0",
                "--count",
                f"groove-helpdesk.customers={count}",
                ready_timeout=60 + count / 10_000,
            ) as url,
            tempfile.TemporaryDirectory() as tmp,
        ):
            runs.append(_child("cli-pull", url, str(Path(tmp) / "m.duckdb"), "customers"))
    for run in runs:
        rows.append(
            (
                f"pull customers, {int(run['records']):,} records (own process)",
                f"{run['peak_rss_mb']:.0f} MB peak",
                f"{run['seconds']:.1f} s, engagesync pull CLI process",
                "peak "
                + goal(run["peak_rss_mb"], 200 if run["records"] <= 100_000 else 250, at_least=False, unit=" MB"),
            )
        )
    growth = runs[1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
    rows.append(
        (
            f"pull memory growth, {small:,} -> {large:,} records",
            f"{growth:.2f}x",
            f"DuckDB memory ceiling {DEFAULT_MEMORY}",
            f"growth {goal(growth, 1.5, at_least=False)}",
        )
    )
    return rows


def push_memory(small: int, large: int, dry_run_rows: int) -> list[Row]:
    rows: list[Row] = []
    with sandbox_server("--no-rate-limits") as url, tempfile.TemporaryDirectory() as tmp:
        creds = httpx.get(f"{url}/_sandbox/credentials").json()["groove-helpdesk"]
        mailbox = httpx.get(
            f"{creds['base_url']}/mailboxes", headers={"Authorization": f"Bearer {creds['token']}"}
        ).json()["mailboxes"][0]["email"]
        runs = []
        for count in (small, large):
            source = Path(tmp) / f"push{count}.csv"
            _csv(source, count, mailbox, f"m{count}-")
            runs.append(
                _child("push", creds["base_url"], creds["token"], str(Path(tmp) / f"p{count}.duckdb"), str(source))
            )
        source = Path(tmp) / "dry.csv"
        _csv(source, dry_run_rows, mailbox, "dry")
        dry = _child("push", creds["base_url"], creds["token"], str(Path(tmp) / "dry.duckdb"), str(source), "--dry-run")
    for run in runs:
        rows.append(
            (
                f"push create_ticket, {int(run['records']):,} CSV rows sent (own process)",
                f"{run['peak_rss_mb']:.0f} MB peak",
                f"{run['seconds']:.1f} s",
                "",
            )
        )
    growth = runs[1]["peak_rss_mb"] / runs[0]["peak_rss_mb"]
    rows.append(
        (
            f"push memory growth, {small:,} -> {large:,} rows",
            f"{growth:.2f}x",
            "flat: the larger push peaks no higher",
            f"growth {goal(growth, 1.15, at_least=False)}",
        )
    )
    rows.append(
        (
            f"push --dry-run, {int(dry['records']):,} CSV rows read, mapped, validated, built",
            f"{dry['peak_rss_mb']:.0f} MB peak",
            f"{dry['seconds']:.1f} s",
            f"vs the {small:,}-row push {goal(dry['peak_rss_mb'] / runs[0]['peak_rss_mb'], 1.15, at_least=False)}",
        )
    )
    return rows
