"""Paidy webhooks are unsigned: a payload is only a hint to re-read that payment.

``handle_webhook`` never trusts the payload's status; it schedules a 状態確認 job for the
payment's order (a worker re-reads Paidy), or records the unknown payment for linking.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from sqlalchemy import select

from core.operations import audit
from core.operations.batch import BatchAction, create_job
from core.operations.context import Ops
from core.paidy.models import WebhookEvent, is_payment_id
from core.roles import SYSTEM
from core.storage.models import Order, PaidyPayment


def handle_webhook(ops: Ops, payload: bytes | str | dict) -> int | None:
    """Returns the id of the scheduled refresh job, or None when there is nothing to refresh."""
    try:
        data = json.loads(payload) if isinstance(payload, bytes | str) else payload
        event = WebhookEvent.model_validate(data)
    except (ValueError, ValidationError):
        return None
    if not is_payment_id(event.payment_id):
        return None
    with ops.db.session() as s:
        order_no = s.scalar(
            select(Order.order_no)
            .join(PaidyPayment, PaidyPayment.order_id == Order.id)
            .where(PaidyPayment.payment_id == event.payment_id)
        )
    if order_no is None:
        audit.record_event(
            ops.db,
            "webhook",
            "webhook",
            f"未登録の決済 {event.payment_id} の通知 ({event.status})",
            ops.now(),
            payment_id=event.payment_id,
            outcome="skipped",
        )
        return None
    return create_job(ops, SYSTEM, BatchAction.REFRESH, [order_no])
