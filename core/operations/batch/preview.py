"""Preview: which rows will run and which are skipped and why, from our snapshots (the
state table, the cancel rule, the capture-mismatch rule); it sends nothing."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.auth.current import authorize
from core.domain import cancellation
from core.domain.capture import capture_mismatch
from core.domain.money import refundable
from core.domain.states import Action, refusal
from core.domain.statuses import UNSETTLED
from core.operations.batch.actions import BatchAction
from core.operations.context import Ops
from core.operations.results import render
from core.operations.snapshots import payment_facts
from core.roles import Actor, Permission
from core.storage.models import AuditLog, Order, PaidyPayment


@dataclass(frozen=True)
class PreviewRow:
    order_no: int
    payment_id: str | None
    customer_name: str
    state: str
    amount: int | None
    will_run: bool
    reason_ja: str
    reason_en: str
    #: what else the action does, said before it runs (e.g. the cancel rule's 対応状況 change)
    note_ja: str = ""
    note_en: str = ""
    #: our payment row's version at preview time: the job runs only if it is unchanged
    version: int | None = None
    cancels_order: bool = False

    def reason(self, lang: str) -> str:
        return self.reason_ja if lang == "ja" else self.reason_en

    def note(self, lang: str) -> str:
        return self.note_ja if lang == "ja" else self.note_en


def preview(
    ops: Ops, actor: Actor, action: BatchAction | str, order_nos: list[int]
) -> list[PreviewRow]:
    """Which rows will run and which are skipped and why, from our snapshots (sends nothing)."""
    authorize(ops.db, actor, Permission.ACT)
    action = BatchAction(action)
    now = ops.now()
    rows: list[PreviewRow] = []
    with ops.db.session() as s:
        found = {
            o.order_no: (o, p)
            for o, p in s.execute(
                select(Order, PaidyPayment)
                .outerjoin(PaidyPayment, PaidyPayment.order_id == Order.id)
                .where(Order.order_no.in_(list(order_nos)))
            )
        }
        blocked = set(
            s.scalars(
                select(AuditLog.payment_id).where(
                    AuditLog.outcome.in_(UNSETTLED),
                    AuditLog.payment_id.in_(
                        [p.payment_id for _, p in found.values() if p is not None]
                    ),
                )
            )
        )
        for no in order_nos:
            order, pay = found.get(no, (None, None))
            rows.append(_preview_row(action, no, order, pay, blocked, now))
    return rows


def _preview_row(action, no, order, pay, blocked, now) -> PreviewRow:
    if order is None or pay is None:
        code = "no_order" if order is None else "no_payment"
        return PreviewRow(
            no,
            None,
            order.customer_name if order else "",
            "",
            None,
            False,
            render(code, "ja", order_no=no),
            render(code, "en", order_no=no),
        )
    facts = payment_facts(pay)
    state = facts.state(now)
    name = order.customer_name or ""
    if pay.payment_id in blocked:
        return PreviewRow(
            no,
            pay.payment_id,
            name,
            state.value,
            None,
            False,
            render("unsettled", "ja"),
            render("unsettled", "en"),
        )
    exc = refusal(state, Action(action.value), facts.status)
    amount = {
        BatchAction.CAPTURE: facts.amount,
        BatchAction.CLOSE: facts.amount,  # the authorization released
        BatchAction.REFUND_FULL: refundable(facts.captured, facts.refunded),
    }.get(action)
    if exc is None:
        exc = cancellation.order_refusal(Action(action.value), order.status, no)
    if exc is None and action is BatchAction.CAPTURE:  # a batch cannot confirm a difference
        exc = capture_mismatch(int(order.total), facts.amount)
    if exc is not None:
        return PreviewRow(
            no,
            pay.payment_id,
            name,
            state.value,
            amount,
            False,
            exc.message("ja"),
            exc.message("en"),
        )
    cancels = cancellation.cancels_order(Action(action.value), order.status)
    return PreviewRow(
        no,
        pay.payment_id,
        name,
        state.value,
        amount,
        True,
        "",
        "",
        "対応状況を「キャンセル」に変更します" if cancels else "",
        "Order status will be set to Cancelled" if cancels else "",
        facts.version,
        cancels,
    )
