"""The batch actions (the guide's pull-down) and what counts as done."""

from __future__ import annotations

from enum import StrEnum

from core.domain.states import Action
from core.operations.results import ActionResult, Outcome


class BatchAction(StrEnum):
    """The guide's pull-down: 状態確認(ステータス) / クローズ / 売上確定 / 払い戻し(全額)."""

    REFRESH = "refresh"
    CLOSE = "close"
    CAPTURE = "capture"
    REFUND_FULL = "refund"


#: A skip that means "already in the asked state": counted as done, not as a failure.
ALREADY_DONE = {
    Action.CAPTURE: {"already_captured"},
    Action.CLOSE: {"already_closed"},
    Action.REFUND: {"nothing_to_refund"},
    Action.UPDATE: {"no_change"},
    Action.REFRESH: set(),
}


def is_done(result: ActionResult) -> bool:
    return result.outcome is Outcome.OK or result.code in ALREADY_DONE[result.action]
