"""Issue 9, item 8 (the connections file): a tampered file gives one line naming the file, the
connection and the field, and what to do; exit 2; never a traceback. Writes stay 0600 and atomic
under the file's lock."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engagesync.sync.connections import Connection, ConnectionFileError, ConnectionStore
from tests.cli_helpers import run_cli

GOOD = {"api": "groove-helpdesk", "base_url": "http://127.0.0.1:9/groove-helpdesk/v1", "secrets": {"token": "t0k"}}


def _with(change: Callable[[dict[str, Any]], None]) -> str:
    entry: dict[str, Any] = json.loads(json.dumps({**GOOD, "settings": {}}))
    change(entry)
    return json.dumps({"connections": {"gh": entry}})


CASES = {
    "invalid JSON": ('{"connections": {"gh": ', "not valid JSON", None),
    "list at top level": ("[]", "JSON list", None),
    "connections not an object": ('{"connections": []}', "'connections'", None),
    "unknown top-level key": ('{"connections": {}, "extra": 1}', "'extra'", None),
    "token removed": (_with(lambda e: e["secrets"].pop("token")), "holds no token", "'secrets'"),
    "unknown api": (_with(lambda e: e.update(api="nope")), "unknown API 'nope'", "'api'"),
    "extra key": (_with(lambda e: e.update(colour="red")), "unknown field 'colour'", None),
    "base_url missing": (_with(lambda e: e.pop("base_url")), "'base_url'", None),
    "secret not a string": (_with(lambda e: e["secrets"].update(token=5)), "'secrets'", None),
    "entry not an object": ('{"connections": {"gh": "x"}}', "JSON string", None),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_tampered_file_is_one_line_exit_2(case: str, home: Path) -> None:
    text, says, field = CASES[case]
    path = home / "home" / "connections.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    for args in (("check", "gh"), ("pull", "gh", "--store", str(home / "x.duckdb")), ("connections",)):
        code, output = run_cli(*args)
        line = " ".join(output.split())  # the console may wrap one long line
        assert code == 2, (args, output)
        assert "Traceback" not in output and "t0k" not in output
        assert str(path) in line and says in line and "engagesync connect" in line, line
        if field:
            assert field in line and "'gh'" in line, line
    with pytest.raises(ConnectionFileError) as caught:
        ConnectionStore(path).get("gh")
    assert "\n" not in str(caught.value)


def test_connect_refuses_to_write_over_a_broken_file(home: Path) -> None:
    path = home / "home" / "connections.json"
    path.parent.mkdir(parents=True)
    path.write_text("{broken")
    code, output = run_cli("connect", "gh", "--api", "groove-helpdesk", "--base-url", "http://x/v1", "--token", "t")
    assert code == 2 and "not valid JSON" in output and "Traceback" not in output
    assert path.read_text() == "{broken"  # nothing lost


def test_writes_are_0600_and_keep_other_connections(tmp_path: Path) -> None:
    store = ConnectionStore(tmp_path / "c" / "connections.json")
    store.put(Connection("a", **GOOD))
    store.put(Connection("b", **{**GOOD, "secrets": {"token": "other"}}))
    store.update_secrets("a", {"token": "rotated"})
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert [(c.name, c.secrets["token"]) for c in store.all()] == [("a", "rotated"), ("b", "other")]
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_connect_with_an_unknown_api_saves_nothing_and_keeps_the_file_readable(tmp_path: Path) -> None:
    """A typo in --api is one line and exit 2; the file keeps the connections it had (before, the entry
    was written and every later command refused the whole file)."""
    from tests.cli_helpers import run_cli

    home = tmp_path / "home"
    env = {"ENGAGESYNC_HOME": str(home)}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        assert run_cli("connect", "ok", "--api", "groove-helpdesk", "--base-url", "http://x", "--token", "t")[0] == 0
        code, output = run_cli("connect", "typo", "--api", "grove-helpdesk", "--base-url", "http://x", "--token", "t")
        assert code == 2 and "unknown API 'grove-helpdesk'" in output and "Traceback" not in output
        code, output = run_cli("connections", "--json")
        assert code == 0 and [c["name"] for c in json.loads(output)["connections"]] == ["ok"]
