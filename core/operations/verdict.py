"""Did an unsettled write happen? Decided from one read of Paidy's record (pure; no I/O).

The one rule set for every lost answer (an ``unknown`` outcome) and every crash (an
``intent`` left behind):

- **Capture and refund carry our tag** (``metadata.ops_intent``), and are judged by it alone:
  an entry with our tag = done (its ids and amount are recorded); no entry with our tag =
  "not done" only from a read that *began* at or after the write's settle deadline (the
  request timeout + ``PAIDY_SETTLE_DELAY_S`` after its answer was lost): a request can reach
  Paidy after we gave up, so an earlier read proves nothing. Somebody else's capture or
  refund (Paidy's own screens, another system) is never taken for ours.
  One shortcut: Paidy captures a payment once, so a capture *without* our tag proves ours
  never landed and never will.
- **Close cannot be tagged.** It is still safe to judge by state: Paidy refuses to close a
  payment twice (409) and a captured payment can never be closed, so a close found "not done"
  and sent again either closes an open payment (what was asked) or is refused; it moves no
  money either way.
- **Update cannot be tagged.** It is idempotent: it sends the whole order, so sending it
  again after a late landing sets the same values; done = Paidy's amount is the new amount.
- A read that began before the intent was recorded never settles it (times, not versions).
- When Paidy has been seen *not* echoing our tag (``tags_reliable`` false), "not done" is
  never concluded automatically: past the deadline the write waits for a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.domain.states import Action
from core.paidy.models import Payment


class Verdict(StrEnum):
    DONE = "done"  # Paidy's record shows the write
    NOT_DONE = "not_done"  # it did not happen and cannot happen any more
    WAIT = "wait"  # too early to say: stays unknown (and blocks money on the payment)
    PERSON = "person"  # past the deadline but undecidable automatically: a person decides


@dataclass(frozen=True)
class Pending:
    """What we know of one unsettled write."""

    action: Action
    tag: str | None
    recorded_at: datetime  # when the intent was written (before the call)
    deadline: datetime  # a read that began at or after this may conclude "not done"
    new_amount: int | None = None  # update: the amount it sets


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    reason: str
    entries: tuple[str, ...] = ()  # Paidy's capture/refund ids carrying our tag
    amount: int | None = None  # their total

    @property
    def definite(self) -> bool:
        return self.verdict in (Verdict.DONE, Verdict.NOT_DONE)


def tagged_entries(action: Action, tag: str | None, payment: Payment) -> list:
    """The captures or refunds in ``payment`` that carry ``tag``."""
    if not tag or action not in (Action.CAPTURE, Action.REFUND):
        return []
    entries = payment.captures if action is Action.CAPTURE else payment.refunds
    return [e for e in entries if e.intent == tag]


def judge(
    pending: Pending, payment: Payment, read_began: datetime, *, tags_reliable: bool = True
) -> Finding:
    """The verdict on ``pending`` from ``payment``, read by a request that began at
    ``read_began`` (our clock)."""
    action = pending.action
    found = tagged_entries(action, pending.tag, payment)
    if found:  # our tag is proof whenever it is read
        ids, amount = tuple(e.id for e in found), sum(e.amount for e in found)
        return Finding(Verdict.DONE, "tag_found", ids, amount)
    if read_began < pending.recorded_at:
        return Finding(Verdict.WAIT, "read_before_intent")
    late_enough = read_began >= pending.deadline
    if action in (Action.CAPTURE, Action.REFUND):
        if not pending.tag or not tags_reliable:
            return Finding(Verdict.PERSON if late_enough else Verdict.WAIT, "untagged")
        if action is Action.CAPTURE and payment.captures:
            return Finding(Verdict.NOT_DONE, "captured_elsewhere")
        return Finding(Verdict.NOT_DONE if late_enough else Verdict.WAIT, "tag_absent")
    if action is Action.CLOSE:
        if payment.status == "closed" and payment.captured_amount == 0:
            return Finding(Verdict.DONE, "closed")
        if payment.captured_amount > 0:
            return Finding(Verdict.NOT_DONE, "captured")
        return Finding(Verdict.NOT_DONE if late_enough else Verdict.WAIT, "not_closed")
    if action is Action.UPDATE:
        if pending.new_amount is not None and payment.amount == pending.new_amount:
            return Finding(Verdict.DONE, "amount_applied")
        return Finding(Verdict.NOT_DONE if late_enough else Verdict.WAIT, "amount_not_applied")
    return Finding(Verdict.DONE, "read_only")
