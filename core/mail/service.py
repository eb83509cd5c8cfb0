"""Draft, preview and send a customer mail: the one path for the order page, the list row
and ``python -m core mail``.

Sending: refuse early (permission, configuration, order, address, template rule) and send
nothing → claim the send (``guard``: the click's token is unique, and one send per order and
template is in flight at a time across processes) → one SMTP conversation → record the
outcome on the send row and in the audit log (action ``mail``; the server as
``smtp://user:****@host``, never the password)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select

from core.bilingual import BilingualError
from core.domain.errors import OrderNotFound, RuleViolation
from core.domain.orders import PaymentMethod, label_of
from core.errors import OperatorError
from core.logsetup import log_exception
from core.mail import guard
from core.mail.compose import Mailbox, MailConfigError, compose, sender_from
from core.mail.smtp import MailSendFailed
from core.mail.templates import Facts, Line, MailText, Template, render, template_label
from core.mail.text import check_address, one_line
from core.messages import label_ref, part, text_part
from core.operations import audit
from core.roles import Actor, Permission, require
from core.search import get_order
from core.settings import Mode, Settings
from core.storage.db import Database
from core.storage.models import MailSend
from core.timeutil import utcnow

log = logging.getLogger(__name__)
DEMO_FROM = "デモショップ <shop@example.com>"
ACTION = "mail"


class MailNotConfigured(BilingualError):
    code = "not_configured"

    def __init__(self) -> None:
        super().__init__(
            "メール送信が設定されていません。SMTP_URL と MAIL_FROM を設定してください。メールは送信していません。",
            "Mail is not configured: set SMTP_URL and MAIL_FROM. Nothing was sent.",
        )


class Mailer(Protocol):
    """What sends the mail: SmtpMailer (a real server) or DemoMailer (the embedded one)."""

    def send(self, msg: EmailMessage) -> None: ...

    def describe(self) -> str: ...


@dataclass
class MailService:
    """What sending needs: the database, a mailer (``send(EmailMessage)``), the sender."""

    db: Database
    mailer: Mailer | None
    mail_from: str
    problem: OperatorError | None = None  # a configuration problem: every send refused
    clock: Callable[[], datetime] = utcnow
    #: an in-flight send older than this belongs to a crashed process and may be taken over
    #: (well past the longest SMTP conversation: a 20 s timeout per command)
    inflight_ttl: timedelta = field(default=timedelta(minutes=5))

    @property
    def demo(self) -> bool:
        return bool(getattr(self.mailer, "demo", False))

    def describe(self) -> str:
        return self.mailer.describe() if self.mailer is not None else "-"

    def send(self, msg: EmailMessage) -> None:
        if self.mailer is None:
            raise MailNotConfigured()
        self.mailer.send(msg)

    def now(self) -> datetime:
        return self.clock()

    def stop(self) -> None:
        stop = getattr(self.mailer, "stop", None)
        if stop is not None:
            stop()


def from_settings(settings: Settings, db: Database, clock: Callable[[], datetime] = utcnow):
    """SMTP_URL → a real server; unset in demo mode → the embedded demo server."""
    from core.mail.smtp import SmtpMailer, parse_smtp_url

    url = settings.smtp_url.get_secret_value().strip() if settings.smtp_url else ""
    demo = settings.mode is Mode.DEMO
    mail_from = settings.mail_from.strip() or (DEMO_FROM if demo else "")
    problem: OperatorError | None = None
    mailer: Mailer | None = None
    if url:
        try:
            mailer = SmtpMailer(parse_smtp_url(url))
        except MailConfigError as exc:
            problem = exc
    elif demo:
        from core.mail.demo_server import DemoMailer

        mailer = DemoMailer(settings.demo_mail_dir)
    else:
        problem = MailNotConfigured()
    if problem is None and not mail_from:
        problem = MailConfigError(
            '送信元(MAIL_FROM)が設定されていません。例: MAIL_FROM="ショップ名 <shop@example.jp>"',
            'MAIL_FROM is not set. Example: MAIL_FROM="Shop <shop@example.jp>"',
        )
    return MailService(db, mailer, mail_from, problem, clock)


# ------------------------------------------------------------------------------ drafting
@dataclass(frozen=True)
class Draft:
    """The mail as it would be sent, or why it cannot be (``problem``: nothing is sent)."""

    order_no: int
    order_id: int | None
    template: Template
    sender: str
    to: str  # "山田 太郎 <yamada@example.jp>" (as shown; the address as stored)
    to_address: str
    subject: str
    body: str
    refunded: int
    problem: OperatorError | None = None
    text: MailText | None = None
    sender_box: Mailbox | None = None
    to_box: Mailbox | None = None

    @property
    def can_send(self) -> bool:
        return self.problem is None

    def compose(self, now: datetime) -> EmailMessage:
        """The message to send (a draft without a problem has every part)."""
        if self.text is None or self.sender_box is None or self.to_box is None:
            raise self.problem or ValueError("an incomplete draft")
        return compose(self.text, sender=self.sender_box, to=self.to_box, now=now)


def draft(ms: MailService, order_no: int, template: Template | str) -> Draft:
    """The preview of ``template`` for the order (raises ``OrderNotFound``)."""
    template = Template(template)
    order = get_order(ms.db, order_no)
    pay = order.payment
    facts = Facts(
        order_no=order.order_no,
        customer_name=one_line(order.customer_name, 100),
        ordered_at=order.ordered_at,
        shipped_at=order.shipped_at,
        payment_method=label_of(PaymentMethod, order.payment_method, "ja"),
        items=tuple(
            Line(one_line(i.product_name, 200), int(i.unit_price), int(i.quantity))
            for i in order.items
        ),
        subtotal=int(order.subtotal or 0),
        shipping_fee=int(order.shipping_fee or 0),
        tax=int(order.tax or 0),
        total=int(order.total or 0),
        captured=int(pay.captured_amount or 0) if pay else 0,
        refunded=int(pay.refunded_amount or 0) if pay else 0,
    )
    problem: OperatorError | None = ms.problem
    sender = None
    if problem is None:
        try:
            sender = sender_from(ms.mail_from)
        except MailConfigError as exc:
            problem = exc
    shown_address = one_line(order.email, 254)
    to_box = None
    try:
        to_box = Mailbox(facts.customer_name, check_address(order.email))
    except RuleViolation as exc:
        problem = problem or exc
    text = None
    try:
        text = render(
            template, facts, sender.name if sender else "", sender.address if sender else ""
        )
    except RuleViolation as exc:
        problem = problem or exc
    return Draft(
        order_no=order.order_no,
        order_id=order.id,
        template=template,
        sender=str(sender) if sender else one_line(ms.mail_from, 254),
        to=str(to_box) if to_box else f"{facts.customer_name} <{shown_address}>",
        to_address=to_box.address if to_box else shown_address,
        subject=text.subject if text else "",
        body=text.body if text else "",
        refunded=facts.refunded,
        problem=problem,
        text=text,
        sender_box=sender,
        to_box=to_box,
    )


# ------------------------------------------------------------------------------ results
MESSAGES: dict[str, tuple[str, str]] = {
    "sent": ("メール「{label_ja}」を送信しました。", "Sent the mail '{label_en}'."),
    "preview": (
        "送信予定: 宛先 {to} / 件名 {subject}",
        "would send: to {to} subject {subject}",
    ),
    "already_sent": (
        "このメールはすでに送信済みです(同じ操作による二重送信を防止しました)。",
        "This mail was already sent (the repeated click did not send it again).",
    ),
    "previous_unknown": (
        "このメールの前回の送信結果が不明です。届いているか確認してから、必要なら「もう一度送信する」で送ってください。",
        "The earlier attempt of this mail has an unknown outcome. Check whether it arrived; use 'Send again' if needed.",
    ),
    "in_progress": (
        "この受注の同じメールを送信中です。完了してから送信履歴を確認してください。",
        "The same mail for this order is being sent right now. Check the history when it has finished.",
    ),
}


@dataclass(frozen=True)
class MailResult:
    order_no: int
    template: str
    outcome: str  # ok | skipped | failed | unknown | preview
    code: str
    message_ja: str
    message_en: str
    to: str = ""
    subject: str = ""
    message_id: str | None = None
    audit_id: int | None = None

    def message(self, lang: str = "ja") -> str:
        return self.message_ja if lang == "ja" else self.message_en

    @property
    def done(self) -> bool:
        """Sent now, or already sent by the same click: nothing left to do."""
        return self.outcome == "ok" or self.code == "already_sent"

    def cli_line(self) -> str:
        head = f"{self.order_no} mail {self.template} {self.outcome}"
        if self.outcome == "ok":
            return f"{head} (to {self.to})"
        if self.outcome == "preview":
            return f"{head}: to={self.to} subject={self.subject}"
        return f"{head}: {self.code}: {self.message_en}"


def _result(order_no, template, outcome, code, **kw) -> MailResult:
    params = kw.pop("params", {})
    if code in MESSAGES:
        ja, en = MESSAGES[code]
        ja, en = ja.format(**params), en.format(**params)
    else:
        ja, en = kw.pop("ja"), kw.pop("en")
    return MailResult(order_no, str(template), outcome, code, ja, en, **kw)


def _refusal(order_no, template, exc) -> MailResult:
    code = "no_order" if isinstance(exc, OrderNotFound) else getattr(exc, "code", "refused")
    return MailResult(
        order_no,
        str(template),
        "skipped",
        code,
        exc.message("ja"),
        exc.message("en"),
    )


# ------------------------------------------------------------------------------ sending
def send_mail(
    ms: MailService,
    actor: Actor,
    order_no: int,
    template: Template | str,
    *,
    token: str | None = None,
    dry_run: bool = False,
) -> MailResult:
    """Send ``template`` to the order's customer once per ``token`` (a click; a fresh one
    when omitted). ``dry_run`` drafts and checks everything and sends nothing."""
    template = Template(template)
    try:
        require(actor, Permission.ACT)
        d = draft(ms, order_no, template)
        if d.problem is not None:
            raise d.problem
    except OperatorError as exc:
        result = _refusal(order_no, template, exc)
        return result if dry_run else _audit(ms, actor, result, None, {"template": template.value})
    if dry_run:
        return _result(
            order_no, template, "preview", "preview", to=d.to_address, subject=d.subject,
            params={"to": d.to, "subject": d.subject},
        )  # fmt: skip
    token = (token or uuid.uuid4().hex)[:64]
    now = ms.now()
    claim = guard.claim(
        ms.db,
        token=token,
        order_id=d.order_id,
        order_no=order_no,
        template=template.value,
        to_addr=d.to_address,
        subject=d.subject,
        actor=actor.name,
        now=now,
        ttl=ms.inflight_ttl,
    )
    detail = {"template": template.value, "to": d.to_address, "token": token}
    if isinstance(claim, guard.Duplicate):
        result = _result(order_no, template, "skipped", claim.reason, to=d.to_address)
        return _audit(ms, actor, result, d, detail)
    msg = d.compose(now)
    message_id = str(msg["Message-ID"])
    detail.update(message_id=message_id, subject=d.subject, server=ms.describe())
    try:
        ms.send(msg)
    except Exception as exc:  # MailSendFailed carries ja/en; anything else: its type only
        failure = exc if isinstance(exc, OperatorError) else _unexpected(exc)
        unknown = bool(getattr(exc, "unknown", False))
        guard.finish(ms.db, claim.send_id, "unknown" if unknown else "failed", ms.now(),
                     message_id=message_id, error=failure.message("en"))  # fmt: skip
        result = MailResult(
            order_no,
            template.value,
            "unknown" if unknown else "failed",
            failure.code,
            failure.message("ja"),
            failure.message("en"),
            to=d.to_address,
            subject=d.subject,
            message_id=message_id,
        )
        return _audit(ms, actor, result, d, detail)
    guard.finish(ms.db, claim.send_id, "sent", ms.now(), message_id=message_id)
    result = _result(
        order_no, template, "ok", "sent", to=d.to_address, subject=d.subject,
        message_id=message_id,
        params={"label_ja": template_label(template, "ja"),
                "label_en": template_label(template, "en")},
    )  # fmt: skip
    return _audit(ms, actor, result, d, detail)


def _unexpected(exc: Exception) -> MailSendFailed:
    """A mailer failure that is not one of ours: logged with a reference the operator sees."""
    ref = log_exception(log, "mail send failed")
    name = type(exc).__name__
    return MailSendFailed(
        f"メールを送信できませんでした({name}、参照 {ref})。",
        f"The mail could not be sent ({name}, ref {ref}).",
    )


def _audit(ms: MailService, actor: Actor, result: MailResult, d: Draft | None, detail: dict):
    detail = {**detail, "code": result.code}
    refunded = d.refunded if d is not None and d.template is Template.REFUNDED else None
    msg = [
        part("mail_template", template=label_ref("template", result.template)),
        text_part(result.message_ja, result.message_en),
    ]
    if result.to:
        msg.append(part("mail_to", to=result.to))
    audit_id = audit.record_event(
        ms.db,
        actor.name,
        ACTION,
        None,
        ms.now(),
        msg=msg,
        outcome=result.outcome,
        order_id=d.order_id if d is not None else None,
        order_no=result.order_no,
        amount=refunded,
        detail=detail,
    )
    from dataclasses import replace

    return replace(result, audit_id=audit_id)


# ------------------------------------------------------------------------------ history
def history(db: Database, order_no: int, limit: int = 20) -> list[MailSend]:
    """The order's sends, newest first."""
    with db.session() as s:
        return list(
            s.scalars(
                select(MailSend)
                .where(MailSend.order_no == order_no)
                .order_by(MailSend.id.desc())
                .limit(limit)
            )
        )
