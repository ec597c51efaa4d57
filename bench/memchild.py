"""One measured run in a process of its own, so its peak RSS is its own: ``python -m bench.memchild``.

pull URL TOKEN STORE STREAM -> pulls one stream into STORE
push URL TOKEN STORE CSV [--dry-run] -> pushes CSV through create_ticket
Prints one JSON line: records, seconds, peak_rss_mb, rate_limited (429s the client saw).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from engagesync.apis.groove_helpdesk import connector
from engagesync.sync.mapping import Mapping
from engagesync.sync.pull import pull
from engagesync.sync.push import Pusher
from engagesync.sync.readers import open_input
from engagesync.sync.store import Store


def main(argv: list[str]) -> None:
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


def _peak_mb() -> float:
    """This process's own peak RSS. Linux's ``ru_maxrss`` keeps the parent's peak across fork+exec, so
    the kernel's high-water mark of this address space (VmHWM) is read where it exists."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main(sys.argv[1:])
