"""Every declared column of every registered connector's streams says what it means (issue 14), and
``streams NAME --columns`` shows that text."""

from __future__ import annotations

import json
from pathlib import Path

from engagesync.apis.registry import connectors
from engagesync.sandbox.app import Sandbox
from tests.cli_helpers import run_cli


def test_every_declared_column_has_a_meaning() -> None:
    undocumented = [
        f"{api}.{stream.spec.name}.{column}"
        for api, connector in connectors().items()
        for stream in connector.streams().values()
        for column in stream.spec.columns
        if not stream.spec.docs.get(column, "").strip()
    ]
    assert undocumented == []


def test_streams_columns_shows_every_meaning(home: Path, live_sandbox: Sandbox) -> None:
    code, output = run_cli("connect", "--sandbox", str(live_sandbox.url), stdout_only=True)
    assert code == 0, output
    for api, connector in connectors().items():
        code, output = run_cli("streams", api, "--columns", "--json", stdout_only=True)
        assert code == 0, output
        shown = {(c["stream"], c["column"]): c["meaning"] for c in json.loads(output)["columns"]}
        expected = {
            (stream.spec.name, column): stream.spec.docs[column]
            for stream in connector.streams().values()
            for column in stream.spec.columns
        }
        assert {key: shown.get(key) for key in expected} == expected, api
