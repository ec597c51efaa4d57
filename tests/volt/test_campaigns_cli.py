"""``engagesync push volt schedule_message`` as a real process, SIGKILLed mid-push while a scheduled message
is committed by Volt but its answer has not arrived: the re-run looks the open records up among the newest
waves and leaves every row scheduled exactly once."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engagesync.sandbox.app import Sandbox
from tests.test_e2e_loopback import _cli, _finish

ROWS = 12
BATCH = 3


def _bodies(sandbox: Sandbox) -> list[str]:
    return [r["body"] for r in sandbox.ctx.store.all("SELECT body FROM vt_waves WHERE body LIKE 'Reminder %'")]


def _kill_after_progress_line(proc: subprocess.Popen[bytes], read: int, sandbox: Sandbox, waves: int) -> bool:
    """Once the push reports ``read`` records (ENGAGESYNC_PROGRESS=lines), wait until Volt holds ``waves``
    of ours (the next batch is in flight), then SIGKILL it; True if it was killed before it finished."""
    assert proc.stderr is not None
    for raw in proc.stderr:
        if raw.decode().startswith("progress push schedule_message:") and f" {read:,} read," in raw.decode():
            deadline = time.monotonic() + 30
            while len(_bodies(sandbox)) < waves and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
    proc.wait()
    return False


def test_a_push_killed_while_a_schedule_is_unanswered_reruns_to_each_row_once(
    tmp_path: Path, live_sandbox: Sandbox
) -> None:
    live_sandbox.ctx.set_rate_limit("volt", None)
    home = tmp_path / "home"
    assert _finish(_cli(home, "connect", "--sandbox", str(live_sandbox.url))) == 0
    creds = live_sandbox.credentials()["volt"]
    source = tmp_path / "reminders.csv"
    with source.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["phone", "text", "at"])
        for i in range(ROWS):
            writer.writerow([creds["samples"]["contact_phones"][i % 3], f"Reminder {i}", "2030-01-01 09:00:00"])
    # the 8th schedule is committed, then its answer waits 4 s: the kill lands inside that window
    live_sandbox.ctx.faults.replace(
        [
            {"match": {"api": "volt", "operation": "scheduleMessage"}, "effect": {"latency": 0}, "times": 7},
            {
                "match": {"api": "volt", "operation": "scheduleMessage"},
                "effect": {"latency": 4000},
                "after": True,
                "times": 1,
            },
        ],
        seed=1,
    )
    store = str(tmp_path / "push.duckdb")
    args = (
        "push",
        "volt",
        "schedule_message",
        "--input",
        str(source),
        "--map",
        "contactNumbers=phone",
        "--map",
        "messageBody=text",
        "--map",
        "scheduledTime=at",
        "--map",
        f"primaryPhone='{creds['primary_phone']}'",
        "--batch-size",
        str(BATCH),
        "--store",
        store,
    )
    assert _kill_after_progress_line(_cli(home, *args, progress=True), 2 * BATCH, live_sandbox, 8)
    assert sorted(_bodies(live_sandbox)) == sorted(f"Reminder {i}" for i in range(8))  # 7 answered, 1 not
    rerun = subprocess.run(
        [sys.executable, "-m", "engagesync.cli.main", *args, "--json"],
        env={**os.environ, "ENGAGESYNC_HOME": str(home)},
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    summary = json.loads(rerun.stdout)
    assert summary["reconciled"] >= 2  # the batch in flight: the answered 7th and the unanswered 8th
    bodies = _bodies(live_sandbox)
    assert len(bodies) == len(set(bodies)) == ROWS
