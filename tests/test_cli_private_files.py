"""Files the ``engagesync`` command creates are private to its user (the store holds pulled records,
a destination's signing secret and its header credentials), whatever umask the shell had; a file that
exists keeps the mode its owner gave it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest


def _command() -> list[str]:
    """The installed ``engagesync`` script (its entry point), beside this interpreter."""
    script = Path(sys.executable).with_name("engagesync")
    if not script.exists():
        pytest.fail(f"{script} is missing: run `make` (pip install -e .) to install the command")
    return [str(script)]


def _run(argv: list[str], home: Path, umask: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENGAGESYNC_HOME": str(home)}
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=60, preexec_fn=lambda: os.umask(umask), check=False
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("entry", ["script", "module"])
def test_a_new_store_is_readable_by_its_owner_only(home: Path, tmp_path: Path, entry: str) -> None:
    store = tmp_path / "new.duckdb"
    argv = _command() if entry == "script" else [sys.executable, "-m", "engagesync.cli.main"]
    done = _run([*argv, "destinations", "list", "--store", str(store)], home, umask=0o022)
    assert done.returncode == 0, done.stderr
    assert store.exists()
    assert _mode(store) == 0o600


def test_an_existing_store_keeps_its_mode(home: Path, tmp_path: Path) -> None:
    store = tmp_path / "shared.duckdb"
    duckdb.connect(str(store)).close()
    store.chmod(0o640)
    done = _run([*_command(), "destinations", "list", "--store", str(store)], home, umask=0o022)
    assert done.returncode == 0, done.stderr
    assert _mode(store) == 0o640
