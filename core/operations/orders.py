"""Order edits (受注編集 「この内容で登録する」) and 対応状況 changes (対応状況管理).

Totals are recomputed here (items + tax + shipping), never trusted from the screen. Every
edit bumps ``orders.version`` and records who made it (``updated_by``). A save carries the
version its form was loaded from: in one transaction (row lock) the version is checked, the
order written and the audit entry added; a save from an older version is refused with who
saved first and when (:class:`OrderChanged`), never merged silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from core.auth.current import authorize
from core.domain import order_edit
from core.domain.deletion import OrderIsDeleted
from core.domain.errors import OrderNotFound, RuleViolation
from core.domain.orders import OrderStatus
from core.domain.statuses import AuditOutcome
from core.messages import error_part, label_ref, part
from core.operations import audit
from core.operations.context import Ops
from core.roles import Actor, Permission
from core.storage.db import rows_affected
from core.storage.models import Order, OrderItem
from core.timeutil import JST, as_utc

MAX_ITEMS = 200
MAX_QTY = 9_999
MAX_PRICE = 9_999_999


class InvalidItem(RuleViolation):
    code = "invalid_item"
    ja = "{row}行目: {problem_ja}"
    en = "Row {row}: {problem_en}"


class OrderChanged(RuleViolation):
    """A save from an out-of-date form. ``params``: saved_by, saved_at (JST text), version."""

    code = "order_changed"
    ja = "{who_ja}が {saved_at} にこの受注を先に保存したため、保存しませんでした。"
    en = "{who_en} saved this order first, at {saved_at}; your save was not applied."

    @classmethod
    def of(cls, order: Order) -> OrderChanged:
        by = (order.updated_by or "").strip()
        return cls(
            who_ja=f"{by}さん" if by else "他の担当者",
            who_en=by or "Someone else",
            saved_by=by,
            saved_at=_jst_seconds(order.updated_at),
            version=int(order.version or 0),
        )


class InvalidCustomer(RuleViolation):
    code = "invalid_customer"
    ja = "{field_ja}は{limit}文字以内で入力してください。"
    en = "{field_en} must be at most {limit} characters."


class CustomerNameRequired(RuleViolation):
    code = "customer_name_required"
    ja = "顧客名を入力してください。"
    en = "Enter the customer's name."


class InvalidFee(RuleViolation):
    code = "invalid_fee"
    ja = "{field_ja}は0円以上の整数で入力してください。"
    en = "{field_en} must be a whole number of yen, 0 or more."


@dataclass(frozen=True)
class ItemInput:
    product_code: str
    product_name: str
    unit_price: int
    quantity: int


#: editable customer fields: (column, ja, en, max length)
CUSTOMER_LIMITS: dict[str, tuple[str, str, int]] = {
    "customer_name": ("顧客名", "Customer name", 200),
    "customer_kana": ("フリガナ", "Kana", 200),
    "email": ("メールアドレス", "Email", 254),
    "phone": ("電話番号", "Phone", 40),
    "zip": ("郵便番号", "Postcode", 16),
    "prefecture": ("都道府県", "Prefecture", 16),
    "address1": ("住所1", "Address 1", 300),
    "address2": ("住所2", "Address 2", 300),
    "note": ("備考", "Note", 4000),
}


@dataclass(frozen=True)
class SaveResult:
    order_no: int
    total: int
    updated_at: datetime
    version: int = 0


def form_values(order: Order) -> dict:
    """The 受注編集 form's values of a loaded order (see core.domain.order_edit)."""
    values = {f: getattr(order, f) or "" for f in order_edit.CUSTOMER_FIELDS}
    values["items"] = [
        (i.product_code or "", i.product_name or "", int(i.unit_price), int(i.quantity))
        for i in order.items
    ]
    values["shipping_fee"] = int(order.shipping_fee or 0)
    values["tax"] = int(order.tax or 0)
    values["status"] = order.status
    return order_edit.normalise(values)


def clean_customer(customer: dict) -> dict[str, str]:
    """Stripped customer fields within the column limits; the name is required."""
    clean: dict[str, str] = {}
    for field, (ja, en, limit) in CUSTOMER_LIMITS.items():
        if field not in customer:
            continue
        value = "" if customer[field] is None else str(customer[field]).strip()
        if len(value) > limit:
            raise InvalidCustomer(field_ja=ja, field_en=en, limit=limit)
        clean[field] = value
    if "customer_name" in clean and not clean["customer_name"]:
        raise CustomerNameRequired()
    return clean


def clean_items(rows: list[dict]) -> list[ItemInput]:
    """Validate what the items editor holds; blank rows are dropped, discounts allowed."""
    items: list[ItemInput] = []
    for n, row in enumerate(rows, start=1):
        name = str(row.get("product_name") or "").strip()
        code = str(row.get("product_code") or "").strip()
        price, qty = row.get("unit_price"), row.get("quantity")
        if not name and not code and _blank(price) and _blank(qty):
            continue
        if not name:
            raise InvalidItem(
                row=n, problem_ja="商品名を入力してください。", problem_en="enter a product name."
            )
        price_i, qty_i = _as_int(price), _as_int(qty)
        if price_i is None or abs(price_i) > MAX_PRICE:
            raise InvalidItem(
                row=n,
                problem_ja="単価は整数(円)で入力してください。",
                problem_en="the unit price must be whole yen.",
            )
        if qty_i is None or not 1 <= qty_i <= MAX_QTY:
            raise InvalidItem(
                row=n,
                problem_ja=f"数量は1〜{MAX_QTY}で入力してください。",
                problem_en=f"the quantity must be 1 to {MAX_QTY}.",
            )
        items.append(ItemInput(code[:64], name[:300], price_i, qty_i))
    if not items:
        raise InvalidItem(
            row=1,
            problem_ja="商品を1件以上入力してください。",
            problem_en="enter at least one item.",
        )
    if len(items) > MAX_ITEMS:
        raise InvalidItem(
            row=MAX_ITEMS + 1, problem_ja="商品が多すぎます。", problem_en="too many items."
        )
    return items


def save_order(
    ops: Ops,
    actor: Actor,
    order_no: int,
    *,
    items: list[dict],
    shipping_fee: object,
    tax: object,
    status: str,
    customer: dict | None = None,
    expected_version: int | None = None,
    expected_updated_at: datetime | None = None,
) -> SaveResult:
    """Save the form. ``expected_version`` (or, for older callers, ``expected_updated_at``)
    is what the form was loaded from; a newer order refuses the save (OrderChanged) and
    changes nothing. ``customer``: the fields of :data:`CUSTOMER_LIMITS` to set."""
    actor = authorize(ops.db, actor, Permission.EDIT_ORDERS, attempt="order_save", now=ops.now())
    clean = clean_items(items)
    fee = _fee(shipping_fee, "送料", "Shipping")
    tax_i = _fee(tax, "税額", "Tax")
    status = OrderStatus(status).value
    people = clean_customer(customer or {})
    now = ops.now()
    refusal: OrderChanged | None = None
    with ops.db.session(immediate=True) as s:  # check, write and audit: one transaction
        order = s.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
        if order is None:
            raise OrderNotFound(order_no=order_no)
        if order.deleted_at is not None:
            raise OrderIsDeleted(order_no=str(order_no))
        order_id = order.id
        if (expected_version is not None and order.version != expected_version) or (
            expected_updated_at is not None
            and as_utc(order.updated_at) != as_utc(expected_updated_at)
        ):
            refusal = OrderChanged.of(order)
        else:
            result = _write(s, order, actor, now, clean, fee, tax_i, status, people)
    if refusal is not None:  # nothing was written; the refused attempt is logged on its own
        audit.record_event(
            ops.db,
            actor.name,
            "order_save",
            None,
            now,
            msg=[error_part(refusal)],
            outcome=AuditOutcome.SKIPPED,
            order_id=order_id,
            order_no=order_no,
            detail={
                "code": refusal.code,
                "expected_version": expected_version,
                "version": refusal.params["version"],
            },
        )
        raise refusal
    return result


def _write(s, order: Order, actor: Actor, now, clean, fee, tax_i, status, people) -> SaveResult:
    before = (order.total, order.status, order.version)
    subtotal = sum(i.unit_price * i.quantity for i in clean)
    order.items.clear()
    s.flush()
    order.items.extend(
        OrderItem(
            position=n,
            product_code=i.product_code,
            product_name=i.product_name,
            unit_price=i.unit_price,
            quantity=i.quantity,
        )
        for n, i in enumerate(clean)
    )
    for field, value in people.items():
        setattr(order, field, value)
    order.subtotal, order.shipping_fee, order.tax = subtotal, fee, tax_i
    order.total = subtotal + fee + tax_i
    order.status = status
    order.updated_at = now
    order.version = before[2] + 1
    order.updated_by = actor.name[:100]
    s.flush()
    audit.add_event(
        s,
        actor.name,
        "order_save",
        None,
        now,
        msg=[
            part(
                "order_saved",
                total_before=int(before[0] or 0),
                total=int(order.total),
                status_before=label_ref("order_status", before[1]),
                status=label_ref("order_status", status),
            )
        ],
        order_id=order.id,
        order_no=order.order_no,
        amount=order.total,
        detail={"version": order.version},
    )
    return SaveResult(order.order_no, order.total, now, order.version)


def change_status(ops: Ops, actor: Actor, order_nos: list[int], status: str) -> int:
    """対応状況 of many orders at once; returns how many changed (each one's version bumped,
    so an edit form opened before the change refuses to save over it)."""
    actor = authorize(ops.db, actor, Permission.EDIT_ORDERS, attempt="status_change", now=ops.now())
    status = OrderStatus(status).value
    now = ops.now()
    with ops.db.session() as s:
        changed = rows_affected(
            s.execute(
                update(Order)
                .where(
                    Order.order_no.in_(list(order_nos)),
                    Order.status != status,
                    Order.deleted_at.is_(None),
                )
                .values(
                    status=status,
                    updated_at=now,
                    version=Order.version + 1,
                    updated_by=actor.name[:100],
                )
            )
        )
        audit.add_event(
            s,
            actor.name,
            "status_change",
            None,
            now,
            msg=[
                part(
                    "status_changed",
                    status=label_ref("order_status", status),
                    count=changed,
                    numbers=", ".join(map(str, order_nos[:20]))
                    + (" …" if len(order_nos) > 20 else ""),
                )
            ],
            detail={"order_nos": list(order_nos)[:1000], "status": status},
        )
    return changed


def _jst_seconds(dt: datetime | None) -> str:
    """``2026/11/29 10:38:12`` JST: to the second, so two saves a minute apart are told apart."""
    return "" if dt is None else as_utc(dt).astimezone(JST).strftime("%Y/%m/%d %H:%M:%S")


def _fee(value: object, ja: str, en: str) -> int:
    v = _as_int(value if value not in (None, "") else 0)
    if v is None or v < 0 or v > MAX_PRICE:
        raise InvalidFee(field_ja=ja, field_en=en)
    return v


def _as_int(value: object) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    from core.domain.errors import InvalidYen
    from core.domain.money import parse_yen

    text = str(value).strip()
    negative = text.startswith(("-", "−", "－"))
    try:
        v = parse_yen(text.lstrip("-−－"))
    except InvalidYen:
        return 0 if text in ("0", "０") else None
    return -v if negative else v


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())
