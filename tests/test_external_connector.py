"""A third party's API, shipped as its own package, plugs in through entry points alone.

``tests/external_connector`` is built and installed with pip into a folder of its own; the real
``engagesync`` command, with that folder on its path, serves the toy API in its sandbox, connects to it
and pulls its stream into a store. Nothing in engagesync names the toy API.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

PACKAGE = Path(__file__).resolve().parent / "external_connector"
ENGAGESYNC = str(Path(sys.executable).with_name("engagesync"))


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(PACKAGE)],
        check=True, capture_output=True, env={**os.environ, "TMPDIR": str(build)},
    )  # fmt: skip
    assert list(target.glob("engagesync_toy-*.dist-info")), "pip did not install the package's metadata"
    return target


@pytest.fixture
def env(plugin_path: Path, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(plugin_path), "ENGAGESYNC_HOME": str(tmp_path / "home")}


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [ENGAGESYNC, "sandbox", "serve", "--port", str(port), "--count", "toy.notes=37"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url = None
    for line in proc.stdout:
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        if found:
            url = found.group(0)
            break
    try:
        assert url, "the sandbox never printed its URL"
        yield url
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ENGAGESYNC, *args], env=env, capture_output=True, text=True, timeout=120)


def test_an_installed_package_adds_an_api_to_the_sandbox_and_the_cli(
    env: dict[str, str], served: str, tmp_path: Path
) -> None:
    connected = _cli(env, "connect", "--sandbox", served, "--json")
    assert connected.returncode == 0, connected.stderr
    names = [c["name"] for c in json.loads(connected.stdout)["connections"]]
    assert "toy" in names and "groove-helpdesk" in names  # the built-ins come the same way

    assert _cli(env, "check", "toy").returncode == 0
    listed = _cli(env, "streams", "toy", "--json")
    assert listed.returncode == 0 and "notes" in listed.stdout

    store = tmp_path / "plugin.duckdb"
    pulled = _cli(env, "pull", "toy", "--store", str(store))
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    with duckdb.connect(str(store), read_only=True) as db:
        rows = db.execute('SELECT id, text FROM "toy"."notes" ORDER BY id').fetchall()
    assert [r[0] for r in rows] == list(range(1, 38))
    assert rows[0][1] == "note 1 of tenant default"


def test_without_the_package_the_api_is_unknown(tmp_path: Path) -> None:
    env = {**os.environ, "ENGAGESYNC_HOME": str(tmp_path / "home")}
    env.pop("PYTHONPATH", None)
    result = _cli(env, "streams", "toy")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
