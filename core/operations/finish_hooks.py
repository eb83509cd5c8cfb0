"""Writes that ride along in an action's finish transaction.

A batch item's result row belongs with the action's outcome: ``batch.run_item`` attaches a
hook for the duration of one item, and ``payments._finish`` runs the attached hook inside
its one transaction (Paidy's record, the audit outcome, the unlock, and now the item's
result), instead of the item taking a transaction (and, on PostgreSQL, a commit flush) of
its own. Results that never reach ``_finish`` (a refusal, a skip) are written by
``run_item`` as before. Per thread (a context variable): each worker thread runs one item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Hook = Callable[[Any, Any], None]  # (session, result) -> None
_hook: ContextVar[tuple[Hook, list[bool]] | None] = ContextVar("finish_hook", default=None)


@contextmanager
def attach(hook: Hook) -> Iterator[list[bool]]:
    """Attach ``hook`` for this thread's next finish; yields ``[ran]`` (True once it ran)."""
    ran = [False]
    token = _hook.set((hook, ran))
    try:
        yield ran
    finally:
        _hook.reset(token)


def run(session: Any, result: Any) -> None:
    """Called by the finish transaction: run the attached hook once, if any."""
    attached = _hook.get()
    if attached is None or attached[1][0]:
        return
    hook, ran = attached
    hook(session, result)
    ran[0] = True
