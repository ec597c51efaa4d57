"""Groove sales through the CLI over loopback: connect (sandbox; OAuth flow with a redirect listener or a
pasted URL), check, pull, push examples/flow_members.csv with a reject, and a re-run creating nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from engagesync.sandbox.app import Sandbox
from engagesync.sync.connections import ConnectionStore
from tests.cli_helpers import EXAMPLES, run_cli


def _run(*args: str) -> tuple[int, str]:
    return run_cli(*args)


def members(sandbox: Sandbox, flow: str) -> int:
    return int(
        sandbox.ctx.store.scalar(
            "SELECT count(*) FROM gs_person_flows WHERE tenant_id = 1 AND flow_id = ?", (int(flow),)
        )
    )


def test_connect_from_the_sandbox_then_pull_and_push_flow_members(home: Path, live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials()["groove-sales"]
    code, output = _run("connect", "--sandbox", str(live_sandbox.url), "--json")
    assert code == 0, output
    made = {c["name"]: c for c in json.loads(output)["connections"]}["groove-sales"]
    assert made["secrets"] == {k: "***" for k in ("access_token", "client_secret", "refresh_token", "token_expires_at")}
    assert stat.S_IMODE(os.stat(ConnectionStore().path).st_mode) == 0o600
    stored = ConnectionStore().get("groove-sales").secrets
    secrets = [stored[k] for k in ("access_token", "client_secret", "refresh_token")]
    assert creds["client_secret"] in secrets and not [s for s in secrets if s in output]
    code, output = _run("check", "groove-sales", "--json")
    assert code == 0 and json.loads(output)["flows"] == 8, output
    code, listing = _run("connections", "--json")
    assert code == 0 and json.loads(listing)["connections"]
    assert not [s for s in secrets if s in listing + output], "a secret was printed"
    store = str(home / "gs.duckdb")
    code, output = _run("pull", "groove-sales", "--store", store, "--json")
    assert code == 0, output
    counts = {s["stream"]: s["records"] for s in json.loads(output)["streams"]}
    assert counts == {"flows": 8, "steps": 48, "label_instances": 24, "people": 0}
    flow = "70002"
    before = members(live_sandbox, flow)
    push = (
        "push",
        "groove-sales",
        "add_person_to_flow",
        "--input",
        str(EXAMPLES / "flow_members.csv"),
        "--map",
        "salesforceId=salesforce_id",
        "--map",
        f"flowId='{flow}'",
        "--batch-size",
        "4",
        "--store",
        store,
        "--json",
    )
    code, output = _run(*push)
    assert code == 1, output  # done, with a reject
    summary = json.loads(output)
    assert (summary["done"], summary["rejected"]) == (8, 1)
    assert members(live_sandbox, flow) == before + 8
    code, output = _run("rejects", "groove-sales", "--store", store, "--json")
    assert [(r["field"], r["reason"]) for r in json.loads(output)["rejects"]] == [
        (
            "salesforceId",
            "line 7: No person with Salesforce id 0035e00000NoSuchAA (findPersonBySalesforceId returned null)",
        )
    ]
    code, output = _run(*push)
    assert json.loads(output)["done"] == 0 and members(live_sandbox, flow) == before + 8


def _oauth_args(creds: dict[str, Any], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "engagesync.cli.main",
        "connect",
        "gs",
        "--api",
        "groove-sales",
        "--client-id",
        creds["client_id"],
        "--graphql-url",
        creds["graphql_url"],
        "--authorize-url",
        creds["authorize_url"],
        "--token-url",
        creds["token_url"],
        "--redirect-uri",
        creds["redirect_uri"].replace(":8765", ":0"),
        "--json",
        *extra,
    ]


def _authorize_url(stream: Any) -> str:
    for line in stream:
        if "state=" in line:
            return str(line.strip())
    raise AssertionError("no authorize URL printed")


def test_connect_runs_the_code_flow_with_a_local_redirect_listener(home: Path, live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials(base_url=str(live_sandbox.url))["groove-sales"]
    env = {
        **os.environ,
        "ENGAGESYNC_CLIENT_SECRET": creds["client_secret"],
        "BROWSER": "true",
        "ENGAGESYNC_HOME": str(home / "home"),
    }
    with subprocess.Popen(
        _oauth_args(creds), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None
        url = _authorize_url(proc.stderr)
        httpx.get(url, follow_redirects=True, timeout=10)  # the browser: 302 to the listener
        out, rest = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
    assert creds["client_secret"] not in out + rest
    saved = ConnectionStore(home / "home" / "connections.json").get("gs")
    assert saved.settings["redirect_uri"].endswith("/_sandbox/groove-sales/oauth/callback")
    assert ":0/" not in saved.settings["redirect_uri"] and saved.secrets["refresh_token"]
    code, output = _run("check", "gs", "--json")
    assert code == 0 and json.loads(output)["flows"] == 8, output


def test_connect_no_browser_takes_the_pasted_redirect_url(home: Path, live_sandbox: Sandbox) -> None:
    creds = live_sandbox.credentials(base_url=str(live_sandbox.url))["groove-sales"]
    env = {**os.environ, "ENGAGESYNC_CLIENT_SECRET": creds["client_secret"], "ENGAGESYNC_HOME": str(home / "home")}
    args = _oauth_args(creds, "--no-browser")
    args[args.index("--redirect-uri") + 1] = creds["redirect_uri"]
    with subprocess.Popen(
        args, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None and proc.stdin is not None
        url = _authorize_url(proc.stderr)
        landed = httpx.get(url, follow_redirects=False).headers["location"]  # where the browser ended up
        out, rest = proc.communicate(landed + "\n", timeout=30)
    assert proc.returncode == 0, rest
    assert json.loads(out)["connections"][0]["api"] == "groove-sales"
    code, output = _run("check", "gs", "--json")
    assert code == 0, output


def test_a_rotated_refresh_token_survives_a_process_restart(home: Path, live_sandbox: Sandbox) -> None:
    """Two separate `engagesync check` processes, each after the access token expired: the first
    refreshes (the server revokes the old refresh token at once) and must have written the new pair to
    disk, or the second has nothing that works."""
    code, output = _run("connect", "--sandbox", str(live_sandbox.url), "--json")
    assert code == 0, output
    first = ConnectionStore().get("groove-sales").secrets["refresh_token"]
    seen = [first]
    for _ in range(2):
        live_sandbox.ctx.clock.advance(7300)  # past the 2 h lifetime of the saved access token
        done = subprocess.run(
            [sys.executable, "-m", "engagesync.cli.main", "check", "groove-sales", "--json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["flows"] == 8
        saved = ConnectionStore().get("groove-sales").secrets["refresh_token"]
        assert saved not in seen  # rotated, and persisted by the process that rotated it
        seen.append(saved)
