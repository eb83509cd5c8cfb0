"""One app server's worth of batch workers, for ``bench/cluster.py`` and the cluster test.

``python -m bench.cluster_node`` builds the runtime exactly as an app server does on its
first page (``pages/_ui.py``: ``build_runtime(get_settings(), start_workers=True)``, from the
environment: DATABASE_URL, PAIDY_SECRET_KEY, PAIDY_API_BASE, PAIDY_CONCURRENCY,
PAIDY_CLUSTER_CONCURRENCY), prints ``ready`` and runs its workers until SIGINT/SIGTERM.
Without the Streamlit UI around it: the UI does not take part in running batch items.
(Worker processes are the real ``python -m core worker``.)
"""

from __future__ import annotations

import signal
import threading

from core.runtime import build_runtime
from core.settings import get_settings


def main() -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    rt = build_runtime(get_settings(), start_workers=True)
    try:
        print(f"ready: app node, {rt.ops.workers} worker threads", flush=True)
        stop.wait()
    finally:
        rt.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
