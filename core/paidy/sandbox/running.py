"""Starting a sandbox on a daemon thread, and stopping it."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, cast

from .config import SandboxConfig
from .server import SandboxServer
from .state import Sandbox


class RunningSandbox:
    """A sandbox serving on a daemon thread; a context manager that stops it."""

    def __init__(self, server: SandboxServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.sandbox = server.sandbox
        self.store = server.sandbox.store
        self.url = f"http://{cast(str, server.server_address[0])}:{server.server_port}"

    @property
    def port(self) -> int:
        return self._server.server_port

    def reset(self) -> None:
        """Same as POST /_sandbox/reset."""
        self.sandbox.reset()

    def stop(self) -> None:
        """Stop serving, end held connections, close the store. Safe to call twice."""
        if self.sandbox.stopping.is_set():
            return
        self.sandbox.stopping.set()
        self.sandbox.late.cancel_all()
        self._server.shutdown()
        self._server.cut_open_connections()
        self._server.server_close()
        self._thread.join(timeout=2)
        self.store.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(config: SandboxConfig | None = None, **overrides: Any) -> RunningSandbox:
    """Start a sandbox on a daemon thread; it accepts connections when this returns."""
    config = replace(config or SandboxConfig(), **overrides)
    sandbox = Sandbox(config)
    try:
        server = SandboxServer((config.host, config.port), sandbox)
    except OSError:
        sandbox.store.close()
        raise
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"paidy-sandbox-{server.server_port}",
        daemon=True,
    )
    thread.start()
    return RunningSandbox(server, thread)
