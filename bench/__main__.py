"""``python -m bench [--quick] [--only search,export,...] [--sqlite-only]``

Runs the benchmarks (search, pages, export, batch, sync), prints a table for each, writes
``bench/results/<name>.json`` and rewrites the README's benchmark section. See
bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    BENCHMARKS,
    DATA,
    DEFAULT_PG,
    PROFILES,
    README,
    RESULTS,
    Context,
    git_revision,
    goals_lines,
    write_readme_section,
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="CI sizes (a minute or two)")
    size.add_argument("--smoke", action="store_true", help="tiny sizes (the smoke test's)")
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    p.add_argument(
        "--sqlite-only", "--skip-pg", dest="sqlite_only", action="store_true", help="no PostgreSQL"
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL"),
        help=f"PostgreSQL server to create bench_* databases on (default {DEFAULT_PG})",
    )
    p.add_argument("--rebuild-data", action="store_true", help="regenerate cached datasets")
    p.add_argument("--results-dir", type=Path, default=None, help="default bench/results")
    p.add_argument("--data-dir", type=Path, default=None, help="default bench/.data")
    p.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    p.add_argument(
        "--in-process",
        action="store_true",
        help="run the benchmarks in this process (default: each in a fresh child process, so "
        "one benchmark's leftovers, e.g. a 300 MB DataFrame the GC keeps walking, never slow "
        "down the next)",
    )
    args = p.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        p.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    args.names = names
    return args


def make_context(args: argparse.Namespace) -> Context:
    from bench.datasets import pg_available

    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    ctx = Context(PROFILES[mode], rebuild=args.rebuild_data)
    if args.smoke:  # never touch the committed results or the cache of real datasets
        scratch = Path(tempfile.mkdtemp(prefix="bench-smoke-"))
        ctx.results_dir, ctx.data_dir = scratch / "results", scratch / "data"
    if args.results_dir:
        ctx.results_dir = args.results_dir
    if args.data_dir:
        ctx.data_dir = args.data_dir
    if not args.sqlite_only:
        url = args.pg_url or DEFAULT_PG
        if pg_available(url):
            ctx.pg_url = url
        else:
            ctx.log(f"PostgreSQL not reachable at {url}: SQLite only")
    return ctx


def run_all(ctx: Context, names: list[str]) -> dict[str, dict | Exception]:
    """Run the named benchmarks in order; a failing one is reported and the rest still run."""
    out: dict[str, dict | Exception] = {}
    for name in names:
        started = time.perf_counter()
        ctx.log(f"\n##### {name} ({ctx.sizes.mode})")
        try:
            out[name] = importlib.import_module(f"bench.{name}").run(ctx)
        except Exception as exc:
            traceback.print_exc()
            out[name] = exc
        ctx.log(f"##### {name}: {time.perf_counter() - started:.0f} s")
    return out


def child_argv(args: argparse.Namespace, ctx: Context, name: str) -> list[str]:
    argv = ["--only", name, "--in-process", "--no-readme"]
    argv += ["--results-dir", str(ctx.results_dir), "--data-dir", str(ctx.data_dir)]
    argv += ["--quick"] if args.quick else ["--smoke"] if args.smoke else []
    return argv + (["--pg-url", ctx.pg_url] if ctx.pg_url else ["--sqlite-only"])


def run_children(args: argparse.Namespace, ctx: Context) -> dict[str, dict | Exception]:
    """Each benchmark in a fresh ``python -m bench --only NAME --in-process``; its figures
    are read back from its JSON file."""
    if ctx.rebuild:  # forget the cached datasets once; the first child to need one builds it
        from bench.datasets import forget

        forget(ctx, ctx.sizes.orders)
    out: dict[str, dict | Exception] = {}
    for name in args.names:
        started = time.time()
        code = subprocess.call([sys.executable, "-m", "bench", *child_argv(args, ctx, name)])
        path = ctx.results_dir / f"{name}.json"
        if code == 0 and path.exists() and path.stat().st_mtime >= started:
            out[name] = json.loads(path.read_text("utf-8"))
        else:
            out[name] = RuntimeError(f"bench {name} exited with {code}")
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ctx = make_context(args)
    DATA.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.in_process:
        outcome = run_all(ctx, args.names)
    else:
        outcome = run_children(args, ctx)
    if args.in_process and args.no_readme:  # a child of run_children: the parent reports
        return 1 if any(isinstance(r, Exception) for r in outcome.values()) else 0
    seconds = time.perf_counter() - started
    run = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": ctx.sizes.mode,
        "git": git_revision(),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "seconds": round(seconds, 1),
        "benchmarks": args.names,
        "failed": [n for n, r in outcome.items() if isinstance(r, Exception)],
    }
    run["command"] = run["command"].strip()
    run["complete"] = set(args.names) == set(BENCHMARKS) and not run["failed"]
    ctx.results_dir.mkdir(parents=True, exist_ok=True)
    run_file = ctx.results_dir / "run.json"
    if not run["complete"] and run_file.exists():  # keep saying when the last whole run was
        before = json.loads(run_file.read_text())
        last = before if before.get("complete") else before.get("last_complete")
        if last and last.get("mode") == run["mode"]:
            run["last_complete"] = {k: v for k, v in last.items() if k != "last_complete"}
    run_file.write_text(json.dumps(run, indent=2) + "\n")
    ctx.log("\n##### goals")
    for name, result in outcome.items():
        if isinstance(result, Exception):
            ctx.log(f"{name}: FAILED to run: {result!r}")
        else:
            ctx.log("\n".join(f"{name}: {line[2:]}" for line in goals_lines(result["goals"])))
    if not args.smoke and not args.no_readme and ctx.results_dir.resolve() == RESULTS.resolve():
        from bench.report import section

        write_readme_section(section(ctx.results_dir, run))
        ctx.log(f"README section rewritten: {README}")
    ctx.log(f"total {seconds / 60:.1f} min")
    return 1 if run["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
