"""The tables, as SQLAlchemy 2 typed declarative models.

Rules kept here, once:
- money is ``int`` yen;
- every timestamp column is :class:`UtcDateTime`: stored in UTC, read back tz-aware UTC on
  every database (SQLite hands back naive values; this type makes them aware);
- ``paidy_payments.status`` is Paidy's raw status stripped and lowercased on the way in;
- ``paidy_payments.order_total`` is a copy of ``orders.total`` kept by database triggers (for
  the discrepancy rule's partial index); nothing else writes it;
- the search indexes (btree per filter and sort, trigram for name/kana/email) are declared
  in the migration ``0001_initial`` together with the dialect-specific ones; the ones
  declared here mirror the portable part so ``Base.metadata`` matches the database. The
  dialect-specific name search structures of ``0007`` (PostgreSQL: ``order_name_keys``
  and its GIN index; SQLite: ``orders_fts_short``) are search internals kept by triggers,
  read only by core/search/text_match.py, and not mapped here.

Changing a table means a new Alembic migration in ``core/storage/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import TypeDecorator

from core.timeutil import as_utc, utcnow

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A tz-aware UTC datetime on every dialect.

    Binds: aware values are converted to UTC (naive ones are taken as UTC already); on
    SQLite the tzinfo is then dropped so every stored text has one format and compares
    correctly as text. Results: always aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonType,
        list[str]: JsonType,
    }


def _now_column(**kw: Any) -> Mapped[datetime]:
    return mapped_column(UtcDateTime(), default=utcnow, server_default=func.now(), **kw)


# ---------------------------------------------------------------------------------- orders
class Order(Base):
    """One shop order (受注). ``status`` = 対応状況 key, ``payment_status`` = 入金状況 key."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[int] = mapped_column(Integer, unique=True)
    ordered_at: Mapped[datetime]
    updated_at: Mapped[datetime] = _now_column(onupdate=utcnow)
    #: bumped by every edit of the order (受注編集, 対応状況): a save from an older one is refused
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_kana: Mapped[str] = mapped_column(String(200), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(16))
    zip: Mapped[str] = mapped_column(String(16), default="", server_default="")
    prefecture: Mapped[str] = mapped_column(String(16), default="", server_default="")
    address1: Mapped[str] = mapped_column(String(300), default="", server_default="")
    address2: Mapped[str] = mapped_column(String(300), default="", server_default="")
    payment_method: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="new", server_default="new")
    payment_status: Mapped[str] = mapped_column(
        String(16), default="unpaid", server_default="unpaid"
    )
    shipped_at: Mapped[datetime | None]
    subtotal: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    shipping_fee: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    tax: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = _now_column()
    # 0005: soft delete (削除). A deleted order is kept (audit log, restore by an admin) but
    # leaves search, export, the dashboard and sync; see core/storage/deleted.py.
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[str | None] = mapped_column(String(200))

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderItem.position",
        passive_deletes=True,
    )
    payment: Mapped[PaidyPayment | None] = relationship(back_populates="order", uselist=False)

    __table_args__ = (
        Index("ix_orders_ordered_at_order_no", "ordered_at", "order_no"),
        Index("ix_orders_updated_at_order_no", "updated_at", "order_no"),
        Index("ix_orders_total_order_no", "total", "order_no"),
        Index("ix_orders_customer_kana_order_no", "customer_kana", "order_no"),
        Index("ix_orders_status_ordered_at", "status", "ordered_at", "order_no"),
        Index("ix_orders_payment_method_ordered_at", "payment_method", "ordered_at"),
        Index("ix_orders_email", "email"),
        Index("ix_orders_birth_date", "birth_date"),
        Index("ix_orders_gender", "gender"),
        Index(
            "ix_orders_deleted_at",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )


class OrderItem(Base):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    product_code: Mapped[str] = mapped_column(String(64), default="", server_default="")
    product_name: Mapped[str] = mapped_column(String(300))
    unit_price: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    order: Mapped[Order] = relationship(back_populates="items")

    __table_args__ = (Index("ix_order_items_order_id_position", "order_id", "position"),)


# -------------------------------------------------------------------------- paidy payments
class PaidyPayment(Base):
    """Our snapshot of one Paidy payment (refreshed by 状態確認 and after every action)."""

    __tablename__ = "paidy_payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), unique=True
    )
    payment_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int] = mapped_column(Integer)  # Paidy注文代金の総額
    authorized_amount: Mapped[int] = mapped_column(Integer)  # first amount seen (+10 % base)
    captured_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refunded_amount: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    capture_id: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None]
    paidy_created_at: Mapped[datetime | None]
    test: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    raw_json: Mapped[dict[str, Any] | None]
    last_synced_at: Mapped[datetime | None]
    last_result: Mapped[str | None] = mapped_column(Text)  # Paidy処理結果
    last_result_at: Mapped[datetime | None]
    # 0010: Paidy処理結果 as keys with parameters (core.messages), rendered in the reader's
    # language; last_result keeps its Japanese text for rows written before
    last_result_msg: Mapped[list[Any] | None] = mapped_column(JsonType)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A copy of orders.total kept by database triggers (migration 0001) so the discrepancy
    # rule needs no join and has a partial index. Read-only: never set it.
    order_total: Mapped[int | None] = mapped_column(Integer)
    # 0012: a copy of orders.ordered_at kept the same way, in the index that finds open
    # payments by expiry, so a page of them sorted by order date joins only the page
    # (core/search/by_payment.py). Read-only: never set it.
    order_ordered_at: Mapped[datetime | None]

    order: Mapped[Order | None] = relationship(back_populates="payment")

    __table_args__ = (
        Index(
            "ix_paidy_payments_status_expires_at",
            "status",
            "expires_at",
            "captured_amount",
            "refunded_amount",
            "order_id",
            "order_ordered_at",
        ),
    )

    @validates("status")
    def _normalise_status(self, _key: str, value: str | None) -> str:
        return (value or "").strip().lower()


def normalise_status(value: str | None) -> str:
    """Paidy's status as stored: stripped and lowercased (for Core inserts/updates)."""
    return (value or "").strip().lower()


# ------------------------------------------------------------------------------- audit log
class AuditLog(Base):
    """Every attempted action: intent before the call, outcome after (操作履歴)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = _now_column()
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int | None] = mapped_column(Integer)
    order_no: Mapped[int | None] = mapped_column(Integer)
    payment_id: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # intent|ok|skipped|failed|unknown|settled
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    paidy_code: Mapped[str | None] = mapped_column(String(200))
    paidy_title: Mapped[str | None] = mapped_column(Text)
    paidy_description: Mapped[str | None] = mapped_column(Text)
    paidy_reference: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(200))
    job_id: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None]
    detail: Mapped[dict[str, Any] | None]
    # 0003: the tag sent in a capture's/refund's metadata; the moment from which a read that
    # shows no tag proves "not done"; a person must look at it (late, duplicate, undecidable)
    intent_tag: Mapped[str | None] = mapped_column(String(64))
    settle_after: Mapped[datetime | None]
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (
        Index("ix_audit_log_payment_id_created_at", "payment_id", "created_at"),
        Index("ix_audit_log_intent_tag", "intent_tag"),
        Index("ix_audit_log_needs_review", "needs_review"),
        Index("ix_audit_log_created_at", "created_at"),
        Index("ix_audit_log_outcome", "outcome"),
        Index("ix_audit_log_order_id_created_at", "order_id", "created_at"),
        Index("ix_audit_log_job_id", "job_id"),
    )


class InflightAction(Base):
    """The unique "in-flight" marker: at most one action per payment at a time."""

    __tablename__ = "inflight_actions"

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    audit_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = _now_column()


class UnlinkedPayment(Base):
    """A payment a webhook named that we have no record of (0005): listed on the dashboard
    for a one-click link. What the hint said is unverified until the link reads Paidy."""

    __tablename__ = "unlinked_payments"

    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    hints: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_status: Mapped[str | None] = mapped_column(String(64))
    order_ref: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_unlinked_payments_last_seen_at", "last_seen_at"),)


# ------------------------------------------------------------------------------ batch jobs
class BatchJob(Base):
    __tablename__ = "batch_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _now_column()
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    options: Mapped[dict[str, Any] | None]
    finished_at: Mapped[datetime | None]
    # 0009: the total in yen the operator confirmed (None: a job not started from a preview)
    confirmed_amount: Mapped[int | None] = mapped_column(BigInteger)

    items: Mapped[list[BatchItem]] = relationship(
        back_populates="job",
        cascade="all, delete-orphan",
        order_by="BatchItem.position",
        passive_deletes=True,
    )

    __table_args__ = (Index("ix_batch_jobs_status", "status"),)


class BatchItem(Base):
    __tablename__ = "batch_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("batch_jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    order_id: Mapped[int | None] = mapped_column(Integer)
    order_no: Mapped[int | None] = mapped_column(Integer)
    payment_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    audit_id: Mapped[int | None] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # 0002: the result's code (e.g. "expired"), its English message, and whether the item
    # was taken back from a crashed worker (it is settled from Paidy's record before it runs)
    result_code: Mapped[str | None] = mapped_column(String(64))
    message_en: Mapped[str] = mapped_column(Text, default="", server_default="")
    resumed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # 0009: what the confirmation showed for this order: its amount in yen and our payment
    # row's version (the item runs only if the payment has not changed since)
    confirmed_amount: Mapped[int | None] = mapped_column(Integer)
    confirmed_version: Mapped[int | None] = mapped_column(Integer)
    # 0010: the result's message as keys with parameters (core.messages)
    msg: Mapped[list[Any] | None] = mapped_column(JsonType)

    job: Mapped[BatchJob] = relationship(back_populates="items")

    __table_args__ = (
        Index("ix_batch_items_job_id_status", "job_id", "status"),
        Index("ix_batch_items_status", "status"),
        Index("ix_batch_items_job_id_position", "job_id", "position"),
        Index("ix_batch_items_payment_id_status", "payment_id", "status"),  # 0005: webhooks
    )


# ------------------------------------------------------------------------------- settings
class CsvColumnSet(Base):
    """A named CSV出力項目設定: the chosen column keys, in order."""

    __tablename__ = "csv_column_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    columns: Mapped[list[str]]
    created_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    created_at: Mapped[datetime] = _now_column()


class AppFlag(Base):
    """A small system fact that outlives processes (e.g. Paidy did not echo our tags)."""

    __tablename__ = "app_flags"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime | None]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(16), default="viewer", server_default="viewer")
    password_hash: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # unused since 0004: failures are counted in login_throttle (per name and per client)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = _now_column()
    last_login_at: Mapped[datetime | None]


# ----------------------------------------------------------------------- mail (メール通知)
class MailSend(Base):
    """One customer mail send (migration 0006). ``token`` is the click's (unique: a double
    click sends once); ``inflight_key`` is ``"<order_no>:<template>"`` while the send is in
    flight and NULL after (unique: one send per order and template at a time)."""

    __tablename__ = "mail_sends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    inflight_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    order_id: Mapped[int | None] = mapped_column(Integer)
    order_no: Mapped[int] = mapped_column(Integer)
    template: Mapped[str] = mapped_column(String(16))
    to_addr: Mapped[str] = mapped_column(String(254), default="", server_default="")
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(String(16))  # sending|sent|failed|unknown
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _now_column()
    finished_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(255))
    error: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (Index("ix_mail_sends_order_no_created_at", "order_no", "created_at"),)


class LoginThrottle(Base):
    """Failed logins per ``name:<user name>`` or ``client:<ip or session>`` (unknown names
    too); only changed by single atomic statements in ``core/auth/throttle.py``."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_failure_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    locked_until: Mapped[datetime | None]


TABLES = Base.metadata.tables
