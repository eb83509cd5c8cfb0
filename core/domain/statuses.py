"""The stored words for where things stand: audit entries, batch jobs, batch items.

Each enum's values are exactly the strings in the database (``audit_log.outcome``,
``batch_jobs.status``, ``batch_items.status``); a ``StrEnum`` member *is* its string, so
rows written before these enums existed compare equal and no migration is needed. How each
value reads on a screen is the i18n catalogue's ``outcome.<value>``.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What one action on one order came to (a service result)."""

    OK = "ok"  # done (or already in the asked state)
    SKIPPED = "skipped"  # refused by a rule or already in progress: nothing sent
    FAILED = "failed"  # Paidy refused, or the call was not applied
    UNKNOWN = "unknown"  # no answer and Paidy could not be asked: settle with 状態確認


class AuditOutcome(StrEnum):
    """``audit_log.outcome``: a result's outcome, or where an entry stands around it."""

    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNKNOWN = "unknown"
    INTENT = "intent"  # written before the Paidy call; still so after a crash
    SETTLED = "settled"  # an intent/unknown later decided from Paidy's record
    LATE = "late"  # the event row beside a corrected entry (late landing, duplicate)


#: entries whose write may or may not have happened: they block money actions on the payment
UNSETTLED: tuple[AuditOutcome, ...] = (AuditOutcome.INTENT, AuditOutcome.UNKNOWN)


class JobStatus(StrEnum):
    """``batch_jobs.status``."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class ItemStatus(StrEnum):
    """``batch_items.status``: waiting, claimed by a worker, or the outcome it came to."""

    PENDING = "pending"
    RUNNING = "running"
    OK = "ok"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNKNOWN = "unknown"


#: items not yet finished (a job is done when it has none)
OPEN_ITEMS: tuple[ItemStatus, ...] = (ItemStatus.PENDING, ItemStatus.RUNNING)
