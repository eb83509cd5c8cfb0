"""Pytest plugin: a running Paidy sandbox for tests that talk HTTP.

`sandbox` is a fresh-looking sandbox per test (reset before each test) on top of one
server per test module; `sandbox_url` is its base URL. Faults hold "timeouts" for 0.3 s.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.paidy.sandbox import RunningSandbox, SandboxConfig, start_sandbox

TEST_CONFIG = SandboxConfig(seed=20180205, timeout_hold_s=0.3)


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[RunningSandbox]:
    """One sandbox server per test module (starting one per test would be slower)."""
    with start_sandbox(TEST_CONFIG) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_server: RunningSandbox) -> RunningSandbox:
    """The module's sandbox, reset: no payments, no faults, real time, zero stats."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def sandbox_url(sandbox: RunningSandbox) -> str:
    return sandbox.url
