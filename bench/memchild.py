"""One measured run in a process of its own, so its peak RSS is its own: ``python -m bench.memchild``.

pull URL TOKEN STORE STREAM -> pulls one stream into STORE
push URL TOKEN STORE CSV [--dry-run] -> pushes CSV through create_ticket
Prints one JSON line: records, seconds, peak_rss_mb.
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
    started = time.perf_counter()
    with Store(store_path) as store, connector.make_client(base_url, token) as client:
        if mode == "pull":
            records = pull(client, "groove-helpdesk", connector.streams(), [argv[4]], store).records
        else:
            mapping = Mapping.parse(["from=email", "body=message", "to=inbox"], passthrough=["subject"])
            pusher = Pusher(client, "groove-helpdesk", connector.actions()["create_ticket"], store, mapping=mapping)
            result = pusher.run(open_input(argv[4]), dry_run="--dry-run" in argv)
            records = result.read
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"records": records, "seconds": round(seconds, 2), "peak_rss_mb": round(peak_mb, 1)}))


if __name__ == "__main__":
    main(sys.argv[1:])
