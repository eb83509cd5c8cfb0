"""A real HTTP server that emulates Paidy's payments API, for the demo, tests and benchmarks."""

from .server import RunningSandbox, SandboxConfig, start_sandbox

__all__ = ["RunningSandbox", "SandboxConfig", "start_sandbox"]
