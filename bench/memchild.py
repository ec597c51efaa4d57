"""One measured run in a process of its own, so its peak RSS is its own: ``python -m bench.memchild``.

pull URL TOKEN STORE STREAM -> pulls one stream into STORE through the library (sync.pull), in this process
push URL TOKEN STORE CSV [--dry-run] -> pushes CSV through create_ticket
cli-pull SANDBOX_URL STORE STREAM -> ``engagesync connect --sandbox`` into a temporary ENGAGESYNC_HOME, then
    ``engagesync pull groove-helpdesk STREAM --store STORE`` as its own process: the real CLI, every import
    its startup makes included; the peak is that process's
Prints one JSON line: records, seconds, peak_rss_mb, rate_limited (429s the client saw; not known for cli-pull).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

#: The console script the README documents, beside this interpreter (``python -m engagesync.cli.main`` if absent).
_SCRIPT = Path(sys.executable).with_name("engagesync")
ENGAGESYNC = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "engagesync.cli.main"]


def main(argv: list[str]) -> None:
    if argv[0] == "cli-pull":
        print(json.dumps(cli_pull(*argv[1:4])))
        return
    from engagesync.apis.groove_helpdesk import connector
    from engagesync.sync.mapping import Mapping
    from engagesync.sync.pull import pull
    from engagesync.sync.push import Pusher
    from engagesync.sync.readers import open_input
    from engagesync.sync.store import Store

    mode, base_url, token, store_path = argv[:4]
    started_at = time.time()  # wall clock: the optimum is computed from it
    started = time.perf_counter()
    with Store(store_path) as store, connector.make_client(base_url, token) as client:
        if mode == "pull":
            records = pull(client, "groove-helpdesk", connector.streams(), [argv[4]], store).records
        else:
            mapping = Mapping.parse(["from=email", "body=message", "to=inbox"], passthrough=["subject"])
            pusher = Pusher(client, "groove-helpdesk", connector.actions()["create_ticket"], store, mapping=mapping)
            result = pusher.run(open_input(argv[4]), dry_run="--dry-run" in argv)
            records = result.read
        rate_limited = client.stats["rate_limited"]
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "records": records,
                "seconds": round(seconds, 2),
                "started_at": started_at,
                "peak_rss_mb": round(_peak_mb(), 1),
                "rate_limited": rate_limited,
            }
        )
    )


def cli_pull(sandbox_url: str, store_path: str, stream: str) -> dict[str, Any]:
    """``engagesync pull`` as a user runs it, its peak RSS read from the kernel while it runs and when it ends.

    This process imports no engagesync module, so the ``ru_maxrss`` the kernel carries over from it into the
    child at fork is far below anything the pull reaches."""
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "ENGAGESYNC_HOME": home}
        env.pop("ENGAGESYNC_PROGRESS", None)
        subprocess.run([*ENGAGESYNC, "connect", "--sandbox", sandbox_url], env=env, check=True, capture_output=True)
        command = [*ENGAGESYNC, "pull", "groove-helpdesk", stream, "--store", store_path, "--json"]
        started_at = time.time()
        started = time.perf_counter()
        with tempfile.TemporaryFile("w+") as out:
            proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.PIPE, text=True)
            polled = _Poller(proc.pid)
            errors = proc.stderr.read() if proc.stderr else ""
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            polled.stop()
            out.seek(0)
            text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {proc.returncode}: {errors.strip()[-500:]}")
    result = json.loads(text)
    return {
        "records": sum(int(s["records"]) for s in result["streams"]),
        "seconds": round(seconds, 2),
        "started_at": started_at,
        "peak_rss_mb": round(max(polled.peak_kb, usage.ru_maxrss) / 1024, 1),
        "rate_limited": None,
    }


class _Poller:
    """Reads a running process's VmHWM (its high-water RSS) every 20 ms until it ends."""

    def __init__(self, pid: int) -> None:
        self.path = f"/proc/{pid}/status"
        self.peak_kb = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.02):
            self.peak_kb = max(self.peak_kb, _hwm_kb(self.path))

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def _hwm_kb(path: str) -> int:
    try:
        with open(path) as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_mb() -> float:
    """This process's own peak RSS. Linux's ``ru_maxrss`` keeps the parent's peak across fork+exec, so
    the kernel's high-water mark of this address space (VmHWM) is read where it exists."""
    if kb := _hwm_kb("/proc/self/status"):
        return kb / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
