"""A real HTTP server that emulates Paidy's payments API, for the demo, tests and benchmarks.

Modules: :mod:`.config` (how it starts), :mod:`.state` (what a handler needs: store, clock,
faults, ids, stats, history, late writes), :mod:`.api` (Paidy's payment API) wrapped in
:mod:`.api_faults` (latency and faults), :mod:`.control` (the /_sandbox/ endpoints),
:mod:`.replies` (requests, replies, error envelopes), :mod:`.server` (HTTP), :mod:`.running`
(start and stop); the rules, clock, store and fault mix in their own modules.
"""

from .config import SandboxConfig
from .running import RunningSandbox, start_sandbox

__all__ = ["RunningSandbox", "SandboxConfig", "start_sandbox"]
