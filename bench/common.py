"""Shared pieces of the benchmarks: sizes, timing, machine info, result files, tables and the
README section.

Every benchmark module exposes ``run(ctx) -> dict`` and uses only what is here plus core.
A result file is ``bench/results/<name>.json``::

    {"benchmark": name, "date": ISO, "mode": "full|quick|smoke", "machine": {...},
     "config": {...}, "results": [...rows...], "goals": [{"goal", "met", "detail"}], ...}
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / ".data"
RESULTS = BENCH / "results"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BENCHMARKS = ("search", "pages", "export", "batch", "sync", "pdf", "settle", "cluster")


# ------------------------------------------------------------------------------- sizes
@dataclass(frozen=True)
class Sizes:
    """How big each benchmark runs. ``full`` is the issue's size; ``quick`` fits CI."""

    mode: str
    orders: int  # demo orders for search, pages, export
    search_runs: int
    page_runs: int
    export_rows: tuple[int, ...]
    export_pandas: bool
    export_runs: int
    captures: int
    latency_ms: int
    concurrencies: tuple[int, ...]
    fault_rate: float
    fault_concurrency: int
    timeout_hold_s: float  # how long the sandbox holds a "timeout" fault
    sync_payments: int
    sync_concurrencies: tuple[int, ...]
    pg_batch_concurrencies: tuple[int, ...] = ()  # batch/sync also on PostgreSQL at these
    batch_repeats: int = 1  # runs per concurrency > 1 (median and p95 of the wall time)
    client_timeout_s: float = 10.0
    export_in_process: bool = False  # smoke only: no child processes (peak RSS meaningless)
    pdf_rows: tuple[int, ...] = (1_000, 10_000)  # List PDF sizes (the issue's)
    pdf_slips: int = 100  # delivery slips in one PDF
    pdf_runs: int = 3
    settle_writes: int = 30  # lost answers whose wait for a definite outcome is measured
    settle_timeout_s: float = 30.0  # PAIDY_TIMEOUT_S of the settle bench (the default)
    settle_delay_s: float | None = None  # None = the default, timeout + 30 s
    settle_tick_s: float = 5.0  # the worker pool's housekeeping interval
    cluster_items: int = 10_000  # one capture job run by 2 app nodes + 3 workers (PostgreSQL)
    cluster_latency_ms: int = 100
    # PAIDY_CLUSTER_CONCURRENCY. 4, not 8: feeding 8 slots at 100 ms (80 items/s at ~17 ms
    # of Python per item, spread over 5 processes, plus PostgreSQL and the sandbox) takes
    # about two cores, the whole machine of the results; 4 measures the cap, not the CPU.
    cluster_cap: int = 4


FULL = Sizes(
    mode="full",
    orders=1_000_000,
    search_runs=30,
    page_runs=10,
    export_rows=(100_000, 1_000_000),
    export_pandas=True,
    export_runs=3,
    captures=1000,
    latency_ms=100,
    concurrencies=(1, 4, 8, 16),
    fault_rate=0.05,
    fault_concurrency=8,
    timeout_hold_s=5.0,
    sync_payments=10_000,
    sync_concurrencies=(8, 16),
    pg_batch_concurrencies=(8,),
    batch_repeats=3,
)
QUICK = Sizes(
    mode="quick",
    orders=50_000,
    search_runs=15,
    page_runs=5,
    export_rows=(10_000, 50_000),
    export_pandas=True,
    export_runs=1,
    captures=200,
    latency_ms=50,
    concurrencies=(1, 4, 8, 16),
    fault_rate=0.05,
    fault_concurrency=8,
    timeout_hold_s=1.0,
    sync_payments=1000,
    sync_concurrencies=(8,),
    pg_batch_concurrencies=(8,),
    cluster_items=1000,
    cluster_latency_ms=50,
)
SMOKE = Sizes(
    mode="smoke",
    orders=500,
    search_runs=2,
    page_runs=1,
    export_rows=(200, 400),
    export_pandas=True,
    export_runs=1,
    captures=20,
    latency_ms=5,
    concurrencies=(1, 4),
    fault_rate=0.2,
    fault_concurrency=4,
    timeout_hold_s=0.2,
    sync_payments=30,
    sync_concurrencies=(4,),
    client_timeout_s=2.0,
    export_in_process=True,
    pdf_rows=(50, 200),
    pdf_slips=10,
    pdf_runs=1,
    settle_writes=6,
    settle_timeout_s=2.0,
    settle_delay_s=1.0,
    settle_tick_s=0.2,
    cluster_items=40,
    cluster_latency_ms=5,
    cluster_cap=4,
)
PROFILES = {s.mode: s for s in (FULL, QUICK, SMOKE)}


@dataclass
class Context:
    """What every benchmark gets: sizes, where PostgreSQL is (None = SQLite only), where to
    write results, and a logger."""

    sizes: Sizes
    pg_url: str | None = None
    results_dir: Path = RESULTS
    data_dir: Path = DATA
    rebuild: bool = False
    log: Callable[[str], None] = field(default=lambda msg: print(msg, flush=True))

    @property
    def dialects(self) -> list[str]:
        return ["sqlite", "postgresql"] if self.pg_url else ["sqlite"]


# ------------------------------------------------------------------------------ timing
def repeat(fn: Callable[[], Any], runs: int, warmup: int = 1) -> tuple[list[float], Any]:
    """Call ``fn`` ``warmup`` times, then ``runs`` times timed; (seconds per run, last value)."""
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p95 of 20 runs is the 19th fastest)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """median / p95 / min in milliseconds (rounded to 0.01) of seconds ``samples``."""
    return {
        "median_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(percentile(samples, 95) * 1000, 2),
        "min_ms": round(min(samples) * 1000, 2),
        "runs": len(samples),
    }


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB: VmHWM, the high-water mark of
    its own address space. (``ru_maxrss`` of a child process is not usable here: Linux
    carries the parent's RSS at fork into the child's ru_maxrss across exec, so a child of
    a 500 MB parent reports at least 500 MB.) Falls back to ru_maxrss off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return ru_maxrss_mb()


def ru_maxrss_mb() -> float:
    """getrusage(RUSAGE_SELF).ru_maxrss in MiB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_child(module: str, args: dict, timeout: float = 3600) -> dict:
    """Run ``python -m module '<json args>'`` in a fresh process; the child prints one JSON
    line last (its figures, including its own peak RSS, see :func:`peak_rss_mb`). Peak
    memory per case is therefore never polluted by an earlier case or by this process."""
    proc = subprocess.run(
        [sys.executable, "-m", module, json.dumps(args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{module} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------------------- machine info
def _mem_total_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pg_version(url: str | None) -> str | None:
    if not url:
        return None
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar_one()
    except Exception:
        return None
    finally:
        engine.dispose()


def machine_info(pg_url: str | None = None) -> dict[str, Any]:
    import pandas
    import sqlalchemy
    import streamlit

    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gb": _mem_total_gb(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version(pg_url),
        "sqlalchemy": sqlalchemy.__version__,
        "pandas": pandas.__version__,
        "streamlit": streamlit.__version__,
    }


def git_revision() -> str | None:
    """HEAD's short hash, with "+dirty" when core/, pages/ or the app differ from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "core", "pages", "streamlit_app.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    return (head + ("+dirty" if dirty else "")) or None


_machine_cache: dict[str | None, dict] = {}


def cached_machine_info(pg_url: str | None) -> dict[str, Any]:
    if pg_url not in _machine_cache:
        _machine_cache[pg_url] = machine_info(pg_url)
    return _machine_cache[pg_url]


# ------------------------------------------------------------------------- result files
def goal(text: str, met: bool | None, detail: str = "") -> dict[str, Any]:
    """A goal line; ``met=None`` when it could not be judged at this size."""
    return {"goal": text, "met": met, "detail": detail}


def write_result(ctx: Context, name: str, payload: dict[str, Any]) -> Path:
    """bench/results/<name>.json with date, mode, machine and the benchmark's payload."""
    ctx.results_dir.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": ctx.sizes.mode,
        "machine": cached_machine_info(ctx.pg_url),
        "git": git_revision(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],  # other work on the machine
        "sizes": asdict(ctx.sizes),
        **payload,
    }
    path = ctx.results_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n", "utf-8")
    tmp.replace(path)
    return path


def read_results(results_dir: Path = RESULTS) -> dict[str, dict]:
    out = {}
    for name in BENCHMARKS:
        path = results_dir / f"{name}.json"
        if path.exists():
            out[name] = json.loads(path.read_text("utf-8"))
    return out


# ------------------------------------------------------------------------------- tables
def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def width(text: str) -> int:
    """Columns a string takes in a terminal (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, size: int, right: bool) -> str:
    space = " " * max(0, size - width(text))
    return space + text if right else text + space


def text_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[fmt(v) for v in row] for row in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(r: Sequence[str]) -> str:
        pairs = enumerate(zip(r, widths, strict=True))
        return "  ".join(_pad(c, w, right=i > 0) for i, (c, w) in pairs)

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    out += ["| " + " | ".join(fmt(v).replace("|", "\\|") for v in row) + " |" for row in rows]
    return "\n".join(out)


def print_table(ctx: Context, title: str, headers: Sequence[str], rows: Sequence[Sequence]):
    ctx.log(f"\n== {title}\n{text_table(headers, rows)}")


def goals_lines(goals: Sequence[dict]) -> list[str]:
    mark = {True: "met", False: "MISSED", None: "n/a at this size"}
    return [
        f"- {g['goal']}: **{mark[g['met']]}**" + (f" ({g['detail']})" if g["detail"] else "")
        for g in goals
    ]


# ------------------------------------------------------------------------------ README
def replace_section(text: str, body: str) -> str:
    """``text`` with the part between the bench markers replaced (markers added at the end
    under a "## Benchmarks" heading when absent)."""
    block = f"{START}\n{body.strip()}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        return head + block + rest.split(END, 1)[1]
    heading = "" if "\n## Benchmarks" in text else "\n## Benchmarks\n\n"
    return text.rstrip("\n") + "\n" + heading + block + "\n"


def write_readme_section(body: str, readme: Path = README) -> None:
    text = readme.read_text("utf-8") if readme.exists() else ""
    readme.write_text(replace_section(text, body), "utf-8")
