"""``engagesync sandbox clock|faults|rate-limit`` against a running sandbox: the CLI twin of the
console's Sandbox screen (both go through ``sandbox.remote.SandboxAdmin``)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import run_cli


def test_clock_advance_and_freeze_move_the_sandbox_clock(live_sandbox: Sandbox) -> None:
    before = live_sandbox.ctx.clock.offset
    code, output = run_cli("sandbox", "clock", "--advance", "120", "--freeze", "--url", str(live_sandbox.url))
    assert code == 0, output
    shown = json.loads(output)
    assert shown["frozen"] is True and live_sandbox.ctx.clock.frozen
    assert live_sandbox.ctx.clock.offset - before >= 119
    code, output = run_cli("sandbox", "clock", "--unfreeze", "--url", str(live_sandbox.url))
    assert code == 0 and json.loads(output)["frozen"] is False and not live_sandbox.ctx.clock.frozen


def test_faults_from_a_file_then_cleared(live_sandbox: Sandbox, tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rule = {"match": {"api": "groove-helpdesk", "method": "GET", "path": "/agents"}, "effect": {"status": 503}}
    rules.write_text(json.dumps([rule]))
    code, output = run_cli("sandbox", "faults", "--file", str(rules), "--url", str(live_sandbox.url))
    assert code == 0, output
    assert len(json.loads(output)["rules"]) == 1 and len(live_sandbox.ctx.faults.rules) == 1
    creds = live_sandbox.credentials(base_url=str(live_sandbox.url))["groove-helpdesk"]
    answer = httpx.get(f"{creds['base_url']}/agents", headers={"Authorization": f"Bearer {creds['token']}"})
    assert answer.status_code == 503
    code, output = run_cli("sandbox", "faults", "--clear", "--url", str(live_sandbox.url))
    assert code == 0 and json.loads(output)["rules"] == [] and not live_sandbox.ctx.faults.rules

    rules.write_text("[{oops")
    code, output = run_cli("sandbox", "faults", "--file", str(rules), "--url", str(live_sandbox.url))
    assert code == 2 and f"--file {rules}: not JSON" in output and "Traceback" not in output


def test_rate_limit_is_set_and_turned_off(live_sandbox: Sandbox) -> None:
    url = str(live_sandbox.url)
    code, output = run_cli("sandbox", "rate-limit", "groove-helpdesk", "--limit", "3", "--window", "30", "--url", url)
    assert code == 0, output
    assert live_sandbox.ctx.rate_limits()["groove-helpdesk"]["default"] == {"limit": 3, "window_seconds": 30.0}
    code, output = run_cli("sandbox", "rate-limit", "groove-helpdesk", "--off", "--url", url)
    assert code == 0 and live_sandbox.ctx.rate_limits()["groove-helpdesk"]["default"] is None
    code, output = run_cli("sandbox", "rate-limit", "no-such-api", "--limit", "3", "--url", url)
    assert code == 2 and "no API 'no-such-api'" in output
    assert run_cli("sandbox", "rate-limit", "groove-helpdesk", "--url", url)[0] == 2


def test_no_sandbox_answering_is_one_line_and_exit_4() -> None:
    code, output = run_cli("sandbox", "clock", "--url", "http://127.0.0.1:9")
    assert code == 4 and "does not answer" in output and output.strip().count("\n") == 0, output
