"""Paidy webhooks: unsigned, so a payload is only a hint to re-read one payment.

``receive`` validates the hint (a JSON object with a valid ``payment_id``; anything else is
:class:`InvalidWebhook` and nothing happens), then:

- a payment linked to an order gets one 状態確認 job, which the batch workers run; the
  payload's status is never stored. The job is **deduplicated**: no new one when a refresh
  of that payment is already queued (it will read Paidy after this hint), or when a read
  that began after the event (claimed at least CLOCK_SKEW after the hint's ``timestamp``)
  is running or has succeeded: it saw the news. A hint about an event newer than a running
  read queues one follow-up, never more. So a flood of replays (Paidy stamps each event
  with its time) costs one read per payment, and news arriving mid-read is not lost. A hint
  without a timestamp is taken as news at its arrival.
- a payment we do not know is recorded in ``unlinked_payments`` (see ``unlinked``) for the
  dashboard's one-click link; Paidy is not read for it (unknown ids cannot make us call out).

Serialisation: the check-and-insert runs in one transaction under the payment row's lock
(PostgreSQL ``FOR UPDATE``) or SQLite's write lock, after a lock-free check that answers most
duplicates of a flood without writing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import ValidationError
from sqlalchemy import and_, exists, or_, select

from core.bilingual import BilingualError
from core.domain.statuses import ItemStatus, JobStatus
from core.operations import unlinked
from core.operations.batch import BatchAction
from core.operations.context import Ops
from core.paidy.models import WebhookEvent, is_payment_id
from core.roles import Role
from core.storage.models import BatchItem, BatchJob, Order, PaidyPayment
from core.timeutil import as_utc

MAX_BODY = 64 * 1024
#: Paidy's clock vs ours: a read claimed less than this after an event may predate it.
CLOCK_SKEW = timedelta(seconds=5)
WEBHOOK_ACTOR = "webhook"


class InvalidWebhook(BilingualError):
    """Not a Paidy webhook we can use (not JSON, no valid payment id, too large)."""


class Received(StrEnum):
    SCHEDULED = "scheduled"  # a refresh job was queued
    DEDUPLICATED = "deduplicated"  # a queued or running refresh already covers it
    UNLINKED = "unlinked"  # a payment we do not know: listed for linking


@dataclass(frozen=True)
class WebhookOutcome:
    received: Received
    payment_id: str
    job_id: int | None = None


def parse_hint(payload: bytes | str | dict) -> WebhookEvent:
    """The hint in a webhook body, or InvalidWebhook."""
    if isinstance(payload, bytes | str) and len(payload) > MAX_BODY:
        raise InvalidWebhook("本文が大きすぎます。", "The body is too large.")
    try:
        data = json.loads(payload) if isinstance(payload, bytes | str) else payload
        if not isinstance(data, dict):
            raise ValueError("not an object")
        event = WebhookEvent.model_validate(data)
    except (ValueError, ValidationError, RecursionError):
        raise InvalidWebhook(
            "Paidyの通知として読み取れません。", "Not a Paidy notification."
        ) from None
    if not is_payment_id(event.payment_id):
        raise InvalidWebhook("決済IDが正しくありません。", "Invalid payment id.")
    return event


def receive(ops: Ops, payload: bytes | str | dict | WebhookEvent) -> WebhookOutcome:
    """Act on one webhook (see the module docstring). Raises InvalidWebhook."""
    event = payload if isinstance(payload, WebhookEvent) else parse_hint(payload)
    now = ops.now()
    news_at = _news_at(event, now)
    pid = event.payment_id
    with ops.db.session() as s:  # lock-free: known? already covered?
        order_no = _linked_order_no(s, pid)
        if order_no is not None and _covered(s, pid, news_at):
            return WebhookOutcome(Received.DEDUPLICATED, pid)
    if order_no is None:
        unlinked.record_hint(ops, event, now)
        return WebhookOutcome(Received.UNLINKED, pid)
    with ops.db.session(immediate=True) as s:
        order_no = _linked_order_no(s, pid, lock=True)
        if order_no is None:  # unlinked meanwhile (very unlikely)
            return WebhookOutcome(Received.DEDUPLICATED, pid)
        if _covered(s, pid, news_at):
            return WebhookOutcome(Received.DEDUPLICATED, pid)
        job_id = _queue_refresh(s, order_no, pid, event, now)
    return WebhookOutcome(Received.SCHEDULED, pid, job_id)


def handle_webhook(ops: Ops, payload: bytes | str | dict) -> int | None:
    """The refresh job a webhook queued, or None (invalid, deduplicated or unlinked)."""
    try:
        return receive(ops, payload).job_id
    except InvalidWebhook:
        return None


def _news_at(event: WebhookEvent, now: datetime) -> datetime:
    """When the hinted change happened, by Paidy's timestamp (never later than now: a
    future timestamp is only a claim)."""
    ts = as_utc(event.timestamp) if event.timestamp is not None else None
    return min(ts, now) if ts is not None else now


def _linked_order_no(s, payment_id: str, *, lock: bool = False) -> int | None:
    q = (
        select(Order.order_no)
        .join(PaidyPayment, PaidyPayment.order_id == Order.id)
        .where(PaidyPayment.payment_id == payment_id)
    )
    if lock:
        q = q.with_for_update(of=PaidyPayment)
    return s.scalar(q)


def _covered(s, payment_id: str, news_at: datetime) -> bool:
    """A refresh of the payment is queued (it reads after this hint), or one whose read
    began after the news (claimed at least CLOCK_SKEW after it) is running or has read."""
    read_after = and_(
        BatchItem.status.in_((ItemStatus.RUNNING, ItemStatus.OK)),
        BatchItem.claimed_at >= news_at + CLOCK_SKEW,
    )
    return bool(
        s.scalar(
            select(
                exists().where(
                    BatchItem.payment_id == payment_id,
                    BatchItem.job_id == BatchJob.id,
                    BatchJob.action == BatchAction.REFRESH.value,
                    or_(BatchItem.status == ItemStatus.PENDING, read_after),
                )
            )
        )
    )


def _queue_refresh(s, order_no: int, payment_id: str, event: WebhookEvent, now) -> int:
    """One refresh job of one item, in the caller's transaction (the workers run it)."""
    job = BatchJob(
        action=BatchAction.REFRESH.value,
        created_by=WEBHOOK_ACTOR,
        created_at=now,
        status=JobStatus.QUEUED,
        total=1,
        options={
            "actor_role": Role.OPERATOR.value,
            "source": "webhook",
            "hint": (event.status or "")[:64],
        },
    )
    s.add(job)
    s.flush()
    s.add(
        BatchItem(
            job_id=job.id,
            position=0,
            order_no=order_no,
            payment_id=payment_id,
            status=ItemStatus.PENDING,
        )
    )
    s.flush()
    return job.id
