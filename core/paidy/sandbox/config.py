"""How a sandbox is started: address, seed, storage, latency and the random fault mix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port
    seed: int | None = None
    db_path: str | None = None  # None = a private temporary SQLite database
    latency_ms: int = 0
    jitter_ms: int = 0
    fault_rate: float = 0.0  # chance per payment API request of a random fault
    timeout_hold_s: float = 5.0  # how long a "timeout" fault holds the connection
