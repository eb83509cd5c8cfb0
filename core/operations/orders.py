"""Order edits (受注編集 「この内容で登録する」) and 対応状況 changes (対応状況管理).

Totals are recomputed here (items + tax + shipping), never trusted from the screen; a save
based on an out-of-date view (someone else saved since) is refused, not merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from core.auth.current import authorize
from core.domain.errors import OrderNotFound, RuleViolation
from core.domain.orders import OrderStatus
from core.operations import audit
from core.operations.context import Ops
from core.roles import Actor, Permission
from core.storage.models import Order, OrderItem
from core.timeutil import as_utc

MAX_ITEMS = 200
MAX_QTY = 9_999
MAX_PRICE = 9_999_999


class InvalidItem(RuleViolation):
    code = "invalid_item"
    ja = "{row}行目: {problem_ja}"
    en = "Row {row}: {problem_en}"


class OrderChanged(RuleViolation):
    code = "order_changed"
    ja = "表示後に他の担当者がこの受注を更新しました。画面を再読み込みしてから編集してください。"
    en = "Someone else saved this order since it was shown. Reload it before editing."


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


@dataclass(frozen=True)
class SaveResult:
    order_no: int
    total: int
    updated_at: datetime


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
    expected_updated_at: datetime | None = None,
) -> SaveResult:
    actor = authorize(ops.db, actor, Permission.EDIT_ORDERS, attempt="order_save", now=ops.now())
    clean = clean_items(items)
    fee = _fee(shipping_fee, "送料", "Shipping")
    tax_i = _fee(tax, "税額", "Tax")
    status = OrderStatus(status).value
    now = ops.now()
    with ops.db.session(immediate=True) as s:
        order = s.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
        if order is None:
            raise OrderNotFound(order_no=order_no)
        if expected_updated_at is not None and as_utc(order.updated_at) != as_utc(
            expected_updated_at
        ):
            raise OrderChanged()
        before = (order.total, order.status)
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
        order.subtotal, order.shipping_fee, order.tax = subtotal, fee, tax_i
        order.total = subtotal + fee + tax_i
        order.status = status
        order.updated_at = now
        order_id, total = order.id, order.total
    audit.record_event(
        ops.db,
        actor.name,
        "order_save",
        f"受注を更新しました(合計 {before[0]:,}円→{total:,}円, 対応状況 {before[1]}→{status})",
        now,
        order_id=order_id,
        order_no=order_no,
        amount=total,
    )
    return SaveResult(order_no, total, now)


def change_status(ops: Ops, actor: Actor, order_nos: list[int], status: str) -> int:
    """対応状況 of many orders at once; returns how many changed."""
    actor = authorize(ops.db, actor, Permission.EDIT_ORDERS, attempt="status_change", now=ops.now())
    status = OrderStatus(status).value
    now = ops.now()
    with ops.db.session() as s:
        changed = s.execute(
            update(Order)
            .where(Order.order_no.in_(list(order_nos)), Order.status != status)
            .values(status=status, updated_at=now)
        ).rowcount
    audit.record_event(
        ops.db,
        actor.name,
        "status_change",
        f"対応状況を {status} に変更 ({changed}件: {', '.join(map(str, order_nos[:20]))}{' …' if len(order_nos) > 20 else ''})",
        now,
        detail={"order_nos": list(order_nos)[:1000], "status": status},
    )
    return changed


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
