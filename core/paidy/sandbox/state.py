"""The sandbox's state: everything a request handler needs (store, clock, faults, ids,
stats, history, late writes)."""

from __future__ import annotations

import threading

from .clock import SandboxClock
from .config import SandboxConfig
from .faults import FaultConfig, Faults
from .ids import IdMaker
from .late import History, LateWrites
from .rules import Context
from .stats import Stats
from .store import PaymentStore


class Sandbox:
    """Everything a request handler needs: store, clock, faults, ids, stats."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = PaymentStore(config.db_path)
        self.clock = SandboxClock()
        self.faults = Faults(
            FaultConfig(
                latency_ms=config.latency_ms,
                jitter_ms=config.jitter_ms,
                fault_rate=config.fault_rate,
                timeout_hold_s=config.timeout_hold_s,
            ),
            config.seed,
        )
        # the salt keeps a seeded restart on an existing --db file from reusing ids
        self.ids = IdMaker(config.seed, salt=self.store.count())
        self.stats = Stats()
        self.stopping = threading.Event()
        self.history = History()
        self.late = LateWrites(self)

    def reset(self) -> None:
        """Delete all payments, clear faults, real time again, zero stats, re-seed ids."""
        self.late.cancel_all()
        self.history.clear()
        self.store.clear()
        self.faults.reset()
        self.clock.reset()
        self.stats.reset()
        self.ids = IdMaker(self.config.seed)

    def context(self, original_amount: int = 0) -> Context:
        return Context(self.clock.now(), self.ids.make, original_amount)
