"""`python -m core sandbox`: run the Paidy sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from .config import SandboxConfig
from .running import start_sandbox


def parse_args(argv: list[str]) -> SandboxConfig:
    parser = argparse.ArgumentParser(
        prog="python -m core sandbox", description="Run a local server that emulates Paidy's API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 = any free port")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--jitter-ms", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0, help="0..1 per payment request")
    parser.add_argument("--seed", type=int, default=None, help="reproducible ids and faults")
    parser.add_argument("--db", default=None, help="SQLite file to keep payments across restarts")
    args = parser.parse_args(argv)
    if not 0 <= args.fault_rate <= 1:
        parser.error("--fault-rate must be between 0 and 1")
    return SandboxConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        db_path=args.db,
        latency_ms=args.latency_ms,
        jitter_ms=args.jitter_ms,
        fault_rate=args.fault_rate,
    )


def main(argv: list[str]) -> int:
    config = parse_args(argv)
    try:
        running = start_sandbox(config)
    except OSError as exc:
        print(
            f"Cannot start the Paidy sandbox on {config.host}:{config.port}: {exc}", file=sys.stderr
        )
        return 1
    print(f"Paidy sandbox listening on {running.url}", flush=True)
    try:
        running.sandbox.stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
