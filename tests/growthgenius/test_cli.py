"""GrowthGenius through the CLI over loopback: connect (sandbox or flags), check, pull, push, rejects."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import EXAMPLES, run_cli


def _run(*args: str) -> tuple[int, str]:
    return run_cli(*args)


def test_connect_from_the_sandbox_then_pull_and_push_contacts(home: Path, live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials()["growthgenius"]
    code, output = _run("connect", "--sandbox", str(live_sandbox.url), "--json")
    assert code == 0, output
    assert creds["api_key"] not in output
    made = {c["name"]: c for c in json.loads(output)["connections"]}
    assert made["growthgenius"]["secrets"] == {"api_key": "***"}
    # rate_limit 0: the sandbox fixture enforces no limit, so the client budgets none
    assert made["growthgenius"]["settings"] == {"user_id": creds["user_id"], "rate_limit": 0}
    code, output = _run("check", "growthgenius", "--json")
    assert code == 0 and json.loads(output)["user_id"] == creds["user_id"]
    store = str(home / "gg.duckdb")
    code, output = _run("pull", "growthgenius", "--store", store, "--json")
    assert code == 0, output
    assert creds["api_key"] not in output
    push = ("push", "growthgenius", "create_contact", "--input", str(EXAMPLES / "contacts.csv"), "--store", store)
    code, output = _run(*push)
    assert code == 1, output  # done, with rejects
    code, output = _run("rejects", "growthgenius", "--store", store, "--json")
    reasons = sorted(r["reason"] for r in json.loads(output)["rejects"])
    assert reasons == [
        "line 5: email is not a valid email address (got 'not-an-email')",
        "line 6: email can't be blank",
        "line 7: email_confidence must be between 0 and 100 (got 140)",
    ]
    _run(*push)
    emails = [
        r["email"]
        for r in live_sandbox.ctx.store.all("SELECT email FROM gg_contacts WHERE email LIKE ?", ("%.example",))
        if "@" in r["email"]
    ]
    assert sorted(
        e
        for e in emails
        if e.split("@")[1] in {"apple.example", "analytical.example", "navy.example", "kernel.example"}
    ) == ["ada@analytical.example", "grace@navy.example", "linus@kernel.example", "steve@apple.example"]


def test_connect_with_flags_takes_the_user_id_as_a_setting(home: Path, live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials()["growthgenius"]
    base = f"{live_sandbox.url}/growthgenius/integrations/v1"
    assert (
        _run(
            "connect",
            "gg",
            "--api",
            "growthgenius",
            "--base-url",
            base,
            "--token",
            creds["api_key"],
            "--setting",
            f"user_id={creds['user_id']}",
        )[0]
        == 0
    )
    code, output = _run("check", "gg", "--json")
    assert code == 0 and json.loads(output)["team_id"] == creds["samples"]["team_id"]
    assert (
        _run(
            "connect",
            "other",
            "--api",
            "growthgenius",
            "--base-url",
            base,
            "--token",
            creds["api_key"],
            "--setting",
            "user_id=999",
        )[0]
        == 0
    )
    code, output = _run("check", "other")
    assert code == 3 and "user_id 999 is not a member of this API key's team" in output
    assert creds["api_key"] not in output
    assert (
        _run("connect", "x", "--api", "growthgenius", "--base-url", base, "--token", "k", "--setting", "user_id")[0]
        == 2
    )


def test_a_pull_killed_mid_way_resumes_to_an_exact_copy(tmp_path: Path, live_sandbox: Sandbox) -> None:
    live_sandbox.reset(seed=0, counts={"growthgenius.contacts": 6000, "growthgenius.messages": 0})
    live_sandbox.ctx.set_rate_limit("growthgenius", None)
    home = tmp_path / "home"
    env = {**os.environ, "ENGAGESYNC_HOME": str(home)}

    def cli(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "engagesync.cli.main", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    assert cli("connect", "--sandbox", str(live_sandbox.url)).wait(60) == 0
    started = time.monotonic()  # an uninterrupted pull elsewhere tells how long one takes here
    assert cli("pull", "growthgenius", "contacts", "--store", str(tmp_path / "timing.duckdb")).wait(120) == 0
    duration = time.monotonic() - started
    store = str(tmp_path / "pull.duckdb")
    kills = 0
    for fraction in (0.5, 0.7, 0.85):
        proc = cli("pull", "growthgenius", "contacts", "--store", store)
        try:
            proc.wait(timeout=fraction * duration)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    final = cli("pull", "growthgenius", "contacts", "--store", store)
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()[-2000:]
    assert kills >= 1, "no pull was interrupted; the test proved nothing"
    with duckdb.connect(store, read_only=True) as con:
        pulled = [r[0] for r in con.execute("SELECT id FROM growthgenius.contacts").fetchall()]
    expected = [r["id"] for r in live_sandbox.ctx.store.all("SELECT id FROM gg_contacts WHERE tenant_id = 1")]
    assert len(pulled) == len(set(pulled)) and sorted(pulled) == sorted(expected)
