"""The README's benchmark section, built from bench/results/*.json (never typed by hand)."""

from __future__ import annotations

import importlib
from datetime import datetime
from pathlib import Path

from bench.common import BENCHMARKS, RESULTS, goals_lines, md_table, read_results

TITLES = {
    "search": "Search (ms; count + first page of 50)",
    "pages": "Orders page (AppTest server-side rerun, ms)",
    "export": "CSV export (default columns)",
    "batch": "Batch capture",
    "sync": "Sync (状態確認 of open payments)",
    "pdf": "PDF (List PDF, default columns; 帳票)",
    "settle": "Settle (time to a definite answer after a lost reply)",
    "cluster": "Cluster: one job, several processes, one Paidy cap (PostgreSQL)",
}


def _when(doc: dict) -> str:
    date = datetime.fromisoformat(doc["date"]).strftime("%Y-%m-%d %H:%M UTC")
    at = f", at `{doc['git']}`" if doc.get("git") else ""
    return f"{date}, {doc['mode']}" + (" (`--quick`)" if doc["mode"] == "quick" else "") + at


def _machine(m: dict) -> str:
    pg = f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else ", no PostgreSQL"
    return (
        f"{m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, {m['os']}; Python "
        f"{m['python']}, SQLite {m['sqlite']}{pg}; SQLAlchemy {m['sqlalchemy']}, pandas "
        f"{m['pandas']}, Streamlit {m['streamlit']}"
    )


def _notes(name: str, doc: dict) -> list[str]:
    cfg = doc.get("config", {})
    if name == "search":
        naive = doc.get("naive") or {}
        out = [f"{cfg.get('orders', 0):,} demo orders, {cfg.get('runs')} runs per search."]
        if naive:
            out.append(
                f"Naive: reading orders + payments into pandas takes {naive['naive_load_s']} s "
                f"({naive['naive_frame_mb']} MB); *naive p50* filters that loaded frame, "
                f"*x naive* = naive p50 / p50."
            )
        return out
    if name == "pages":
        return [f"{cfg.get('orders', 0):,} demo orders, {cfg.get('runs')} reruns per screen."]
    if name == "export":
        return [
            f"{cfg.get('runs')} run(s) per case, each in a fresh process. *peak RSS* is the "
            "child's own high-water mark (VmHWM; its ru_maxrss would include the parent's RSS "
            "at fork), *heap* the peak of its RssAnon and *mapped file* of its RssFile "
            "(sampled every 10 ms); on SQLite the file part is the database read through "
            "mmap (PRAGMA mmap_size=256 MB): page cache, not memory the export holds."
        ]
    if name == "batch":
        return [
            f"{cfg.get('captures', 0):,} captures, sandbox latency {cfg.get('latency_ms')} ms "
            f"(own process), faults {cfg.get('fault_rate', 0):.0%} (every kind, timeouts held "
            f"{cfg.get('timeout_hold_s')} s); ideal = N x latency / concurrency."
        ]
    if name == "sync":
        return [
            f"{cfg.get('payments', 0):,} open payments, sandbox latency "
            f"{cfg.get('latency_ms')} ms; ideal = N x latency / concurrency."
        ]
    if name == "pdf":
        return [
            f"Last N of {cfg.get('orders', 0):,} demo orders; {cfg.get('runs')} run(s) per "
            "case, each in a fresh process; *CPU s* is the child's own CPU time (what a busy, "
            "shared machine inflates least); memory as for the CSV export (*heap* = RssAnon "
            "peak, *heap grew* = peak - the child's heap before the export)."
        ]
    if name == "settle":
        return [
            f"{cfg.get('writes')} captures, each with one injected fault (a third each), "
            f"PAIDY_TIMEOUT_S {cfg.get('client_timeout_s')} s, settle delay "
            f"{cfg.get('settle_delay_s')} s (the default: timeout + 30 s), worker "
            f"housekeeping every {cfg.get('tick_s')} s; wait = send to a definite audit entry."
        ]
    if name == "cluster":
        return [
            f"{cfg.get('items', 0):,} captures as one job run by {cfg.get('apps')} app nodes "
            f"and {cfg.get('workers')} `python -m core worker` processes sharing PostgreSQL, "
            f"each with PAIDY_CONCURRENCY={cfg.get('local')}; PAIDY_CLUSTER_CONCURRENCY="
            f"{cfg.get('cap')}; sandbox latency {cfg.get('latency_ms')} ms; ideal = N x "
            "latency / cap; *max in flight* is the sandbox's own gauge; *GETs*: payment "
            "reads (a snapshot older than 5 min is re-read before its capture)."
        ]
    return []


def section(results_dir: Path = RESULTS, run: dict | None = None) -> str:
    docs = read_results(results_dir)
    if not docs:
        return "No benchmark results yet: run `python -m bench`."
    first = next(iter(docs.values()))
    lines = [
        "Written by `python -m bench` from `bench/results/*.json` (see "
        "[bench/README.md](bench/README.md)); do not edit by hand.",
        "",
    ]
    if run:
        whole = run if run.get("complete") else run.get("last_complete")
        if whole:
            lines.append(
                f"Last run of all benchmarks: {_when(whole)}, `{whole['command']}`, "
                f"{whole['seconds'] / 60:.1f} min."
            )
        if whole is not run:
            lines.append(
                f"Last run: {_when(run)}, `{run['command']}`, {run['seconds'] / 60:.1f} min "
                f"({', '.join(run['benchmarks'])})."
            )
    lines += [f"Machine: {_machine(first['machine'])}.", ""]
    for name in BENCHMARKS:
        doc = docs.get(name)
        if doc is None:
            continue
        module = importlib.import_module(f"bench.{name}")
        headers, rows = module.table_rows(doc["results"])
        lines += [f"### {TITLES[name]}", "", f"Run: {_when(doc)}. " + " ".join(_notes(name, doc))]
        lines += ["", md_table(headers, rows), "", *goals_lines(doc.get("goals", [])), ""]
    return "\n".join(lines)
