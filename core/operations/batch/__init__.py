"""Batch actions (Paidy決済状況管理): preview, a job stored in the database, workers.

A job is a ``batch_jobs`` row plus one ``batch_items`` row per order. Workers claim pending
items one at a time (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; a guarded UPDATE on SQLite),
run each through the same service layer as a single action, and write a definite result on
the item. Progress is read from the database, so a reload or a closed tab loses nothing;
items left ``running`` by a crashed worker are settled (refresh) and resumed, never resent.

Modules: :mod:`.actions` (the pull-down, what counts as done), :mod:`.preview` (rules on
our snapshots, no calls), :mod:`.jobs` (job and item rows: create, claim, finish, recover),
:mod:`.run` (running an item, a worker loop, a whole job), :mod:`.progress` (read back),
:mod:`.pool` (the in-process worker pool).
"""

from core.operations.batch.actions import ALREADY_DONE, BatchAction, is_done
from core.operations.batch.jobs import (
    claim_next,
    create_job,
    finish_done_jobs,
    recover_stale,
)
from core.operations.batch.pool import WorkerPool
from core.operations.batch.preview import PreviewRow, preview
from core.operations.batch.progress import JobProgress, items_frame, progress, recent_jobs
from core.operations.batch.run import JobRun, Report, run_item, run_job, work

__all__ = [
    "ALREADY_DONE",
    "BatchAction",
    "JobProgress",
    "JobRun",
    "PreviewRow",
    "Report",
    "WorkerPool",
    "claim_next",
    "create_job",
    "finish_done_jobs",
    "is_done",
    "items_frame",
    "preview",
    "progress",
    "recent_jobs",
    "recover_stale",
    "run_item",
    "run_job",
    "work",
]
