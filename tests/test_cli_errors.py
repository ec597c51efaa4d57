"""User errors over the real CLI: one line naming what is wrong and what to do, the README's exit code,
never a traceback (issue 9, items 8, 9 and 11)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from engagesync.cli import main as cli_main
from engagesync.cli.errors import DEBUG_HINT, ErrorHandlingGroup
from engagesync.client.http import RetryPolicy
from engagesync.sandbox.app import Sandbox
from engagesync.sync.store import Store
from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parents[1]


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _connect(name: str, base_url: str, api: str = "groove-helpdesk", *settings: str) -> None:
    args = ["connect", name, "--api", api, "--base-url", base_url, "--token", "tok-secret-123"]
    for setting in settings:
        args += ["--setting", setting]
    code, output = run_cli(*args)
    assert code == 0, output


def _pull_into(store: Path | str) -> tuple[int, str]:
    """A pull whose store cannot be opened: the store is opened before any request is sent."""
    _connect("nowhere", f"http://127.0.0.1:{_free_port()}/v1")
    return run_cli("pull", "nowhere", "--store", str(store), "--json")


def _assert_one_line(code: int, output: str, expected_code: int, *words: str) -> str:
    lines = _lines(output)
    assert code == expected_code, output
    assert len(lines) == 1, output
    assert "Traceback" not in output
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# -- the store ------------------------------------------------------------------------------------
def test_store_in_a_missing_folder(home: Path) -> None:
    code, output = _pull_into(home / "no" / "such" / "store.duckdb")
    _assert_one_line(code, output, 2, "does not exist", "mkdir -p")


def test_store_that_is_a_folder(home: Path) -> None:
    (home / "adir").mkdir()
    code, output = _pull_into(home / "adir")
    _assert_one_line(code, output, 2, "is a folder", "--store")


def _make_store(path: Path) -> Path:
    with Store(str(path)) as db:
        db.execute("CREATE TABLE filler AS SELECT range AS n, repeat('x', 50) AS s FROM range(50000)")
    return path


def test_store_that_cannot_be_written(home: Path) -> None:
    """Root ignores file modes, so as root the file is made immutable (chattr +i) instead of 0444."""
    path = _make_store(home / "ro.duckdb")
    immutable = False
    if os.geteuid() == 0:
        if not shutil.which("chattr") or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
            pytest.skip("running as root without chattr +i: no way to make a file read-only")
        immutable = True
    else:
        path.chmod(0o444)
    try:
        code, output = _pull_into(path)
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    _assert_one_line(code, output, 2, "cannot be opened for writing", "chmod u+w")


def test_store_locked_by_another_process_names_its_pid(home: Path) -> None:
    path = _make_store(home / "locked.duckdb")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        code, output = _pull_into(path)
    finally:
        holder.kill()
        holder.wait()
    _assert_one_line(code, output, 2, "in use by another process", f"PID {holder.pid}", f"kill {holder.pid}")


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_store_that_is_damaged(home: Path, damage: str) -> None:
    path = _make_store(home / "damaged.duckdb")
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # a block's bytes replaced: DuckDB's checksum no longer matches
        path.write_bytes(data[:4096] + b"\xff" * 4096 + data[8192:])
    code, output = _pull_into(path)
    _assert_one_line(code, output, 2, "not a readable DuckDB database", "move it aside")


def test_store_that_is_a_text_file(home: Path) -> None:
    path = home / "notes.duckdb"
    path.write_text("email,name\na@example.com,A\n")
    code, output = _pull_into(path)
    _assert_one_line(code, output, 2, "not a readable DuckDB database", str(path))


# -- connections and APIs -------------------------------------------------------------------------
def test_growthgenius_check_without_user_id(home: Path) -> None:
    _connect("gg", f"http://127.0.0.1:{_free_port()}/growthgenius/integrations/v1", "growthgenius")
    code, output = run_cli("check", "gg")
    _assert_one_line(code, output, 2, "'gg'", "user_id", "--setting user_id=")


def test_pull_from_a_closed_port_exits_4(home: Path) -> None:
    code, output = _pull_into(home / "data.duckdb")
    assert code == 4, output
    assert "Traceback" not in output
    assert "error: the API could not be reached" in output
    assert "tok-secret-123" not in output


def test_pull_and_check_with_a_refused_token_exit_3(home: Path, live_sandbox: Sandbox) -> None:
    _connect("bad", f"{live_sandbox.url}/groove-helpdesk/v1")
    code, output = run_cli("pull", "bad", "--store", str(home / "data.duckdb"))
    assert code == 3, output
    assert "error: the credential was refused (401" in output
    assert "Traceback" not in output and "tok-secret-123" not in output
    assert run_cli("check", "bad")[0] == 3


class Hanging:
    """A loopback server that accepts connections and never answers; ``held`` are the accepted ones."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.held: list[socket.socket] = []


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    hanging = Hanging(f"http://127.0.0.1:{server.getsockname()[1]}/v1")

    def accept() -> None:
        while True:
            try:
                hanging.held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield hanging
    server.close()
    for conn in hanging.held:
        conn.close()


@pytest.mark.parametrize("command", ["pull", "push"])
def test_timeout_ends_a_hanging_pull_or_push_fast_with_exit_4(home: Path, hanging: Hanging, command: str) -> None:
    _connect("hang", hanging.url)
    args = ["--store", str(home / "data.duckdb"), "--timeout", "1"]
    if command == "push":
        rows = home / "tickets.csv"
        rows.write_text("email,message\na@example.com,hello\n")
        args += ["create_ticket", "--input", str(rows), "--map", "from.email=email", "--map", "body=message"]
        args += ["--map", "mailbox='support@example.com'"]
    started = time.monotonic()
    code, output = run_cli(command, "hang", *args)
    elapsed = time.monotonic() - started
    assert code == 4, output
    assert "error: the API could not be reached" in output and "Timeout" in output
    assert elapsed < 20, f"{command} took {elapsed:.1f}s against a server that never answers"


def test_timeout_comes_from_the_environment_and_a_timed_out_read_is_tried_3_times(
    home: Path, hanging: Hanging, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt waited the whole timeout, so timeouts get fewer attempts than refused connections."""
    _connect("hang", hanging.url)
    monkeypatch.setenv("ENGAGESYNC_TIMEOUT", "1")
    started = time.monotonic()
    code, output = run_cli("check", "hang")
    assert code == 4, output
    assert time.monotonic() - started < 10
    assert len(hanging.held) == RetryPolicy().timeout_attempts == 3


# -- unexpected errors ----------------------------------------------------------------------------
def _crashing_app() -> typer.Typer:
    """The CLI's own error handling and --debug option around a command that fails unexpectedly."""
    app = typer.Typer(cls=ErrorHandlingGroup)
    app.callback()(cli_main.main)

    @app.command()
    def crash() -> None:
        raise RuntimeError("a bug, with token=abc123secret in its message")

    @app.command()
    def other() -> None:
        pass

    return app


def test_an_unexpected_error_is_one_line_with_a_debug_hint() -> None:
    result = CliRunner().invoke(_crashing_app(), ["crash"])
    lines = _lines(result.output)
    assert result.exit_code == 1, result.output
    assert len(lines) == 1 and "unexpected RuntimeError: a bug" in lines[0] and DEBUG_HINT in lines[0]
    assert "Traceback" not in result.output and "abc123secret" not in result.output


@pytest.mark.parametrize("how", ["--debug", "ENGAGESYNC_DEBUG=1"])
def test_debug_shows_the_traceback(how: str) -> None:
    args, env = (["--debug", "crash"], {}) if how == "--debug" else (["crash"], {"ENGAGESYNC_DEBUG": "1"})
    result = CliRunner().invoke(_crashing_app(), args, env=env)
    assert result.exit_code == 1
    assert "Traceback" in result.output and "RuntimeError" in result.output
    assert DEBUG_HINT not in result.output


# -- the demo from an installed wheel ------------------------------------------------------------
def test_demo_runs_from_an_installed_wheel(tmp_path: Path) -> None:
    """The example CSVs are packaged: the demo finds them with no repository around."""
    wheels, target, work = tmp_path / "wheels", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(REPO)], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("engagesync-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": str(target), "ENGAGESYNC_HOME": str(tmp_path / "home")}
    where = subprocess.run(
        [sys.executable, "-c", "import engagesync.demo as d; print(d.__file__); print(d.EXAMPLES)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(target)) and where[1].startswith(str(target)), where  # the wheel, not src/
    demo = subprocess.run(
        [sys.executable, "-m", "engagesync.cli.main", "demo", "--tickets", "20", "--store", "demo.duckdb"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "Demo finished" in demo.stdout
