"""Demo data: realistic Japanese orders, their Paidy payments in the sandbox, and our snapshots.

:func:`generate_orders` is pure and deterministic for (n, seed, now): orders spread evenly
over the 60 days before ``now`` (order numbers rise with time), 4 in 5 paid with Paidy. The
Paidy state of each payment follows its age and a fixed pattern per age band, so every row
of the rule table shows up even in 200 orders: open (some expiring within 3 and within 7
days), expired, captured, partially refunded, fully refunded, closed without capture, and a
few rejected. A few orders differ from their Paidy amount so both of the guide's warnings
appear (edited before capture; changed after capture; a refund not yet reflected in the
order). A handful of customer strings are hostile but realistic (emoji, 𠮷, a leading ``=``,
a phone starting with ``+``, a note with markup).

:func:`seed_demo` inserts in chunks (Core executemany), creates the payments in the sandbox
through ``POST /_sandbox/payments/bulk`` with ids we choose, and writes the matching
``paidy_payments`` rows without reading anything back. :func:`seed_demo_if_empty` does it
once, under a cross-process lock, only when there are no orders yet.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any

import requests
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import Connection

from core.bilingual import BilingualError
from core.domain.money import order_amount
from core.storage.db import Database
from core.storage.models import Order, OrderItem, PaidyPayment
from core.timeutil import as_utc, iso_z, utcnow

SEED_LOCK_KEY = 0x5041494460  # pg_advisory_xact_lock key for seeding
DAYS = 60
AUTH_DAYS = 30
PAIDY_SHARE = 5  # every 5th order (index % 5 == 2) uses another method

# --------------------------------------------------------------------------- catalogues
SURNAMES = [
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"), ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"), ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("前田", "マエダ", "maeda"),
    ("藤田", "フジタ", "fujita"), ("小川", "オガワ", "ogawa"), ("岡田", "オカダ", "okada"),
]  # fmt: skip
MALE = [
    ("翔太", "ショウタ", "shota"), ("大輔", "ダイスケ", "daisuke"), ("健太", "ケンタ", "kenta"),
    ("拓也", "タクヤ", "takuya"), ("直樹", "ナオキ", "naoki"), ("誠", "マコト", "makoto"),
    ("浩", "ヒロシ", "hiroshi"), ("蓮", "レン", "ren"), ("悠真", "ユウマ", "yuma"),
    ("陽翔", "ハルト", "haruto"), ("一郎", "イチロウ", "ichiro"), ("和也", "カズヤ", "kazuya"),
]  # fmt: skip
FEMALE = [
    ("陽子", "ヨウコ", "yoko"), ("美咲", "ミサキ", "misaki"), ("愛", "アイ", "ai"),
    ("結衣", "ユイ", "yui"), ("さくら", "サクラ", "sakura"), ("花子", "ハナコ", "hanako"),
    ("恵", "メグミ", "megumi"), ("由美", "ユミ", "yumi"), ("真由美", "マユミ", "mayumi"),
    ("葵", "アオイ", "aoi"), ("陽菜", "ヒナ", "hina"), ("優子", "ユウコ", "yuko"),
]  # fmt: skip
OTHER = [("ひかる", "ヒカル", "hikaru"), ("歩", "アユム", "ayumu"), ("薫", "カオル", "kaoru")]
# (prefecture, city, zip prefix, towns)
PLACES = [
    ("東京都", "渋谷区", "150-00", ["神南", "宇田川町", "道玄坂"]),
    ("東京都", "世田谷区", "154-00", ["三軒茶屋", "太子堂", "下馬"]),
    ("神奈川県", "横浜市西区", "220-00", ["みなとみらい", "高島", "北幸"]),
    ("大阪府", "大阪市北区", "530-00", ["梅田", "中之島", "天神橋"]),
    ("愛知県", "名古屋市中区", "460-00", ["栄", "錦", "大須"]),
    ("北海道", "札幌市中央区", "060-00", ["北一条西", "大通西", "南三条西"]),
    ("福岡県", "福岡市博多区", "812-00", ["博多駅前", "中洲", "祇園町"]),
    ("京都府", "京都市下京区", "600-80", ["四条通", "烏丸通", "東洞院通"]),
    ("宮城県", "仙台市青葉区", "980-00", ["一番町", "中央", "国分町"]),
    ("広島県", "広島市中区", "730-00", ["紙屋町", "本通", "八丁堀"]),
    ("大分県", "大分市", "870-00", ["金池町", "府内町", "中央町"]),
    ("沖縄県", "那覇市", "900-00", ["久茂地", "松山", "牧志"]),
    ("埼玉県", "さいたま市大宮区", "330-08", ["桜木町", "大門町", "宮町"]),
    ("千葉県", "千葉市中央区", "260-00", ["富士見", "中央", "新町"]),
    ("兵庫県", "神戸市中央区", "650-00", ["三宮町", "元町通", "北長狭通"]),
]
BUILDINGS = ["", "", "", "コーポ桜 101", "サンハイツ 203", "グランメゾン 1502", "第二松本ビル 4F"]
REMOTE = {"北海道", "沖縄県"}
# (code, name, unit price before tax)
PRODUCTS = [
    ("TEA-001", "静岡煎茶 100g", 1200), ("TEA-002", "宇治抹茶 30g", 1800),
    ("TEA-003", "ほうじ茶ティーバッグ 20包", 800), ("TEA-004", "玄米茶 200g", 650),
    ("CUP-001", "有田焼 湯呑み", 2500), ("CUP-002", "美濃焼 マグカップ", 1980),
    ("SWT-001", "どら焼き 5個入", 1080), ("SWT-002", "羊羹 詰め合わせ", 3240),
    ("GFT-001", "ギフトセット 松", 5400), ("GFT-002", "ギフトセット 竹", 3800),
    ("TWL-001", "今治タオル フェイス", 1650), ("CHP-001", "若狭塗 箸", 380),
]  # fmt: skip
WRAPPING = ("OPT-WRAP", "ギフトラッピング", 100)
EMAIL_DOMAINS = ["example.com", "example.jp", "example.net", "example.org"]
OTHER_METHODS = ["card", "bank", "cod", "convenience"]

# Paidy state patterns per age band (days since the order); cycled, so every band shows
# each of its states as soon as it holds a dozen Paidy orders.
BANDS: list[tuple[float, list[str]]] = [
    (3, ["open", "open", "captured", "rejected", "open", "closed", "open", "captured", "open",
         "open", "captured", "open", "open", "captured", "open", "open", "captured", "open",
         "open", "open"]),
    (23, ["captured", "captured", "open", "captured", "partially_refunded", "captured",
          "captured", "open", "refunded", "captured", "closed", "captured", "captured", "open",
          "captured", "captured"]),
    (27, ["open", "captured", "captured", "captured", "open", "captured",
          "partially_refunded", "captured", "closed", "captured"]),  # expires in 3-7 days
    (30, ["open", "captured", "captured", "open", "captured", "captured", "refunded",
          "captured"]),  # expires within 3 days
    (DAYS + 1, ["captured", "expired", "captured", "captured", "refunded", "captured",
                "partially_refunded", "captured", "closed", "captured", "captured",
                "captured"]),
]  # fmt: skip
# Hostile-but-realistic customer strings, used at a few fixed indexes and then rarely.
HOSTILE: list[dict[str, str]] = [
    {"customer_name": "山田 花子🌸", "customer_kana": "ヤマダ ハナコ"},
    {"customer_name": "=佐藤 健", "customer_kana": "サトウ ケン"},
    {"customer_name": "𠮷田 太郎", "customer_kana": "ヨシダ タロウ"},
    {"phone": "+81 90-1234-5678", "address2": "-"},
    {
        "note": '<b>至急</b> **ギフト包装** 希望\n熨斗: 御祝 "内祝"',
        "customer_name": "髙橋 一郎",
        "customer_kana": "タカハシ イチロウ",
    },
    {
        "customer_name": "@工房 さくら",
        "customer_kana": "コウボウ サクラ",
        "email": "-shop+demo@example.com",
    },
]
HOSTILE_AT = {7: 0, 11: 1, 17: 2, 23: 3, 29: 4, 31: 5}
HOSTILE_EVERY = 4999


class DemoError(BilingualError):
    """Seeding failed (the sandbox refused or could not be reached); ja/en messages."""


@dataclass(frozen=True, slots=True)
class DemoPayment:
    payment_id: str
    state: str  # open|expired|captured|partially_refunded|refunded|closed|rejected
    created_at: datetime
    expires_at: datetime
    amount: int  # what Paidy authorized (the original items)
    captured: int
    refunded: int
    items: tuple[tuple[str, str, int, int], ...]  # Paidy's items (code, name, price, qty)
    tax: int
    shipping: int

    @property
    def status(self) -> str:
        """Paidy's raw status for this state."""
        if self.state in ("open", "expired"):
            return "authorized"
        return "rejected" if self.state == "rejected" else "closed"


@dataclass(frozen=True, slots=True)
class DemoOrder:
    index: int
    order: dict[str, Any]  # an `orders` row without id and order_no
    items: tuple[tuple[str, str, int, int], ...]  # (code, name, unit price, quantity)
    payment: DemoPayment | None


@dataclass(frozen=True)
class DemoReport:
    orders: int = 0
    payments: int = 0
    states: dict[str, int] = field(default_factory=dict)
    first_order_no: int | None = None
    last_order_no: int | None = None
    seconds: float = 0.0
    skipped: bool = False  # seed_demo_if_empty found orders already


# ---------------------------------------------------------------------------- generation
def generate_orders(n: int, seed: int, now: datetime) -> Iterator[DemoOrder]:
    """``n`` demo orders, oldest first, deterministic for (n, seed, now). A generator."""
    now = as_utc(now)
    rng = random.Random(seed)
    start = now - timedelta(days=DAYS)
    span = timedelta(days=DAYS).total_seconds()
    counters: Counter[str] = Counter()
    salt = f"{seed}:{now.isoformat()}"
    for i in range(n):
        ordered_at = start + timedelta(seconds=span * (i + rng.random() * 0.98) / n)
        yield _one(i, ordered_at, now, rng, counters, salt)


def _one(
    i: int, ordered_at: datetime, now: datetime, rng: random.Random, counters: Counter, salt: str
) -> DemoOrder:
    ordered_at = ordered_at.replace(microsecond=0)
    customer = _customer(rng)
    items = _items(rng)
    subtotal = sum(p * q for _, _, p, q in items)
    shipping = 0 if subtotal >= 5000 else (880 if customer["prefecture"] in REMOTE else 550)
    age_days = (now - ordered_at).total_seconds() / 86400
    method = "paidy" if i % PAIDY_SHARE != 2 else OTHER_METHODS[(i // PAIDY_SHARE) % 4]
    payment = None
    db_items = items
    if method == "paidy":
        state = _state_for(age_days, counters)
        payment, db_items = _payment(
            i, state, ordered_at, items, subtotal, shipping, counters, salt
        )
        status, paid, shipped_at = _paidy_order_status(state, ordered_at, age_days, rng, now)
    else:
        status, paid, shipped_at = _other_order_status(method, ordered_at, age_days, rng, now)
    sub = sum(p * q for _, _, p, q in db_items)
    tax = max(sub, 0) * 10 // 100
    ship = shipping if sub > 0 else 0
    touched = ordered_at + timedelta(seconds=rng.random() * min(age_days, 5) * 86400)
    updated_at = max(filter(None, [ordered_at, shipped_at, min(touched, now)]))
    row = {
        **customer,
        "ordered_at": ordered_at,
        "updated_at": updated_at,
        "payment_method": method,
        "status": status,
        "payment_status": "paid" if paid else "unpaid",
        "shipped_at": shipped_at,
        "subtotal": sub,
        "shipping_fee": ship,
        "tax": tax,
        "total": sub + tax + ship,
        "note": "Paidy与信NG: お客様へ別の支払方法をご案内"
        if payment and payment.state == "rejected"
        else "",
        "created_at": ordered_at,
    }
    hostile = HOSTILE_AT.get(i)
    if hostile is None and i % HOSTILE_EVERY == HOSTILE_EVERY - 1:
        hostile = (i // HOSTILE_EVERY) % len(HOSTILE)
    if hostile is not None:
        row.update(HOSTILE[hostile])
    return DemoOrder(index=i, order=row, items=tuple(db_items), payment=payment)


def _customer(rng: random.Random) -> dict[str, Any]:
    sur, sur_kana, sur_ro = rng.choice(SURNAMES)
    r = rng.random()
    gender, names = (
        ("female", FEMALE) if r < 0.52 else ("male", MALE) if r < 0.96 else ("other", OTHER)
    )
    given, given_kana, given_ro = rng.choice(names)
    pref, city, zip_prefix, towns = rng.choice(PLACES)
    birth = (
        None
        if rng.random() < 0.05
        else date(1945, 1, 1) + timedelta(days=rng.randrange(0, 365 * 61))
    )
    return {
        "customer_name": f"{sur} {given}",
        "customer_kana": f"{sur_kana} {given_kana}",
        "email": f"{given_ro}.{sur_ro}{rng.randrange(1, 1000)}@{rng.choice(EMAIL_DOMAINS)}",
        "phone": f"0{rng.choice('789')}0-{rng.randrange(1000, 10000)}-{rng.randrange(1000, 10000)}",
        "birth_date": birth,
        "gender": None if birth is None and rng.random() < 0.5 else gender,
        "zip": f"{zip_prefix}{rng.randrange(1, 100):02d}",
        "prefecture": pref,
        "address1": f"{city}{rng.choice(towns)}{rng.randrange(1, 6)}-{rng.randrange(1, 30)}-{rng.randrange(1, 20)}",
        "address2": rng.choice(BUILDINGS),
    }


def _items(rng: random.Random) -> list[tuple[str, str, int, int]]:
    count = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
    chosen = rng.sample(PRODUCTS, count)
    return [
        (code, name, price, rng.choices((1, 2, 3), weights=(80, 15, 5))[0])
        for code, name, price in chosen
    ]


def _state_for(age_days: float, counters: Counter) -> str:
    for limit, pattern in BANDS:
        if age_days < limit:
            key = f"band{limit}"
            state = pattern[counters[key] % len(pattern)]
            counters[key] += 1
            return state
    return "captured"


def _payment_id(salt: str, i: int) -> str:
    digest = hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=12).digest()
    return "pay_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _payment(
    i: int,
    state: str,
    ordered_at: datetime,
    items: list,
    subtotal: int,
    shipping: int,
    counters: Counter,
    salt: str,
) -> tuple[DemoPayment, list]:
    """The payment, and the order's items as the shop holds them now (may differ)."""
    tax = subtotal * 10 // 100
    amount = order_amount([(p, q) for _, _, p, q in items], tax, shipping)
    created = ordered_at - timedelta(seconds=20)
    captured = amount if state in ("captured", "partially_refunded", "refunded") else 0
    refunded = 0
    db_items = list(items)
    counters[state] += 1
    nth = counters[state]
    if state == "open" and nth % 40 == 2:  # edited before capture, Update not done yet
        db_items.append((*WRAPPING, 1))
    elif state == "captured" and nth % 60 == 3:  # changed after capture: manual handling
        code, name, price, qty = db_items[0]
        db_items[0] = (code, name, price, qty + 1)
    elif state == "partially_refunded":
        discount = max(100, (subtotal * _refund_share(i) // 100) // 100 * 100)
        discount = min(discount, subtotal - 1)
        sub2 = subtotal - discount
        new_total = sub2 + sub2 * 10 // 100 + shipping
        refunded = max(1, amount - new_total)
        if nth % 5 != 4:  # recorded in the order as a discount line (no warning)
            db_items.append(("DISCOUNT", "お詫び値引き", -discount, 1))
    elif state == "refunded":
        refunded = amount
        if nth % 4 != 3:  # the operator zeroed the order as the guide asks
            db_items = []
    payment = DemoPayment(
        payment_id=_payment_id(salt, i),
        state=state,
        created_at=created,
        expires_at=created + timedelta(days=AUTH_DAYS),
        amount=amount,
        captured=captured,
        refunded=refunded,
        items=tuple(items),
        tax=tax,
        shipping=shipping,
    )
    return payment, db_items


def _refund_share(i: int) -> int:
    """A deterministic 10..30 (%) for partial refunds."""
    return 10 + (i * 7919) % 21


def _shipped(ordered_at: datetime, rng: random.Random, now: datetime) -> datetime | None:
    at = ordered_at + timedelta(hours=rng.randrange(18, 72))
    return at if at <= now else None


def _paidy_order_status(
    state: str, ordered_at: datetime, age_days: float, rng: random.Random, now: datetime
) -> tuple[str, bool, datetime | None]:
    if state in ("captured", "partially_refunded"):
        shipped = _shipped(ordered_at, rng, now)
        return ("shipped" if shipped else "paid"), True, shipped
    if state in ("refunded", "closed"):
        return "cancelled", False, None
    if state == "rejected":
        return "new", False, None
    if state == "expired" or age_days > 20:
        return "backordered", False, None
    return ("new" if age_days < 1 else rng.choice(("new", "in_progress"))), False, None


def _other_order_status(
    method: str, ordered_at: datetime, age_days: float, rng: random.Random, now: datetime
) -> tuple[str, bool, datetime | None]:
    if rng.random() < 0.03:
        return "cancelled", False, None
    if age_days < 2:
        if method in ("bank", "convenience"):
            return "awaiting_payment", False, None
        return ("in_progress" if method == "card" else "new"), method == "card", None
    shipped = _shipped(ordered_at, rng, now)
    if shipped is None:
        return "in_progress", method == "card", None
    return "shipped", True, shipped


# ------------------------------------------------------------------------------ seeding
def payment_spec(demo: DemoOrder, order_no: int) -> dict[str, Any]:
    """The sandbox's control spec for one demo payment."""
    pay = demo.payment
    assert pay is not None
    row = demo.order
    city_end = row["address1"].find("区") + 1 or row["address1"].find("市") + 1
    spec: dict[str, Any] = {
        "id": pay.payment_id,
        "buyer": {
            "name1": row["customer_name"],
            "name2": row["customer_kana"],
            "email": row["email"],
            "phone": row["phone"],
        },
        "order": {
            "items": [
                {"id": code, "title": name, "description": "", "unit_price": price, "quantity": qty}
                for code, name, price, qty in pay.items
            ],
            "tax": pay.tax,
            "shipping": pay.shipping,
            "order_ref": str(order_no),
        },
        "shipping_address": {
            "line1": row["address2"],
            "line2": row["address1"][city_end:],
            "city": row["address1"][:city_end],
            "state": row["prefecture"],
            "zip": row["zip"],
        },
        "description": f"デモショップ 注文番号 {order_no}",
        "test": True,
        "created_at": iso_z(pay.created_at),
        "expires_at": iso_z(pay.expires_at),
    }
    if pay.state == "rejected":
        spec["status"] = "rejected"
    elif pay.state in ("captured", "partially_refunded", "refunded", "closed"):
        spec["state"] = pay.state
        if pay.state == "partially_refunded":
            spec["refund_amount"] = pay.refunded
    else:
        spec["state"] = "authorized"
    return spec


class SandboxControl:
    """The sandbox's /_sandbox/ control endpoints we need."""

    def __init__(self, base_url: str, timeout_s: float = 300) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (10, timeout_s)
        self.http = requests.Session()

    def create_bulk(self, specs: list[dict[str, Any]]) -> list[str]:
        body = json.dumps({"payments": specs}, ensure_ascii=False, separators=(",", ":"))
        try:
            reply = self.http.post(
                f"{self.base_url}/_sandbox/payments/bulk",
                data=body.encode(),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise DemoError(
                f"サンドボックス({self.base_url})に接続できませんでした: {exc}",
                f"Could not reach the sandbox at {self.base_url}: {exc}",
            ) from exc
        if reply.status_code != 200:
            raise DemoError(
                f"サンドボックスが決済の作成を拒否しました(HTTP {reply.status_code}): {reply.text[:300]}",
                f"The sandbox refused to create payments (HTTP {reply.status_code}): {reply.text[:300]}",
            )
        return reply.json().get("ids", [])

    def close(self) -> None:
        self.http.close()


def _lock(conn: Connection) -> None:
    """Serialise seeders: SQLite already holds the write lock (BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEED_LOCK_KEY})


def _insert_chunk(
    conn: Connection,
    chunk: list[DemoOrder],
    sandbox: SandboxControl,
    now: datetime,
    http_chunk: int,
) -> tuple[int, int, int]:
    """Insert orders, items and payments of one chunk; returns (orders, first_no, last_no)."""
    base = conn.execute(select(func.coalesce(func.max(Order.order_no), 0))).scalar_one()
    rows = [{**d.order, "order_no": base + k + 1} for k, d in enumerate(chunk)]
    if conn.dialect.name == "sqlite":  # we hold the write lock: the next ids are ours
        first_id = conn.execute(select(func.coalesce(func.max(Order.id), 0))).scalar_one() + 1
        ids = list(range(first_id, first_id + len(rows)))
        conn.execute(insert(Order), [{**r, "id": i} for r, i in zip(rows, ids, strict=True)])
    else:  # RETURNING keeps the sequence in charge
        returning = insert(Order).returning(Order.id, sort_by_parameter_order=True)
        ids = conn.execute(returning, rows).scalars().all()
    item_rows = [
        {"order_id": oid, "position": pos, "product_code": code, "product_name": name,
         "unit_price": price, "quantity": qty}
        for oid, d in zip(ids, chunk, strict=True)
        for pos, (code, name, price, qty) in enumerate(d.items, start=1)
    ]  # fmt: skip
    if item_rows:
        conn.execute(insert(OrderItem), item_rows)
    paidy = [
        (oid, d, base + k + 1)
        for k, (oid, d) in enumerate(zip(ids, chunk, strict=True))
        if d.payment
    ]
    for start in range(0, len(paidy), http_chunk):
        part = paidy[start : start + http_chunk]
        sandbox.create_bulk([payment_spec(d, no) for _, d, no in part])
        conn.execute(insert(PaidyPayment), [_snapshot(oid, d.payment, now) for oid, d, _ in part])
    return len(paidy), base + 1, base + len(chunk)


def _snapshot(order_id: int, pay: DemoPayment, now: datetime) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "payment_id": pay.payment_id,
        "status": pay.status,
        "amount": pay.amount,
        "authorized_amount": pay.amount,
        "captured_amount": pay.captured,
        "refunded_amount": pay.refunded,
        "capture_id": None,
        "expires_at": pay.expires_at,
        "paidy_created_at": pay.created_at,
        "test": True,
        "raw_json": None,
        "last_synced_at": now,
        "last_result": None,
        "last_result_at": None,
        "version": 0,
    }


def _seed(
    conn_factory: Callable[[], AbstractContextManager[Connection]],
    *,
    sandbox_url: str,
    orders: int,
    seed: int,
    now: datetime,
    chunk_size: int,
    http_chunk: int,
) -> DemoReport:
    started = time.perf_counter()
    sandbox = SandboxControl(sandbox_url)
    states: Counter[str] = Counter()
    report = DemoReport()
    generated = generate_orders(orders, seed, now)
    try:
        while chunk := list(islice(generated, chunk_size)):
            with conn_factory() as conn:
                payments, first, last = _insert_chunk(conn, chunk, sandbox, now, http_chunk)
            states.update(d.payment.state for d in chunk if d.payment)
            report = replace(
                report,
                orders=report.orders + len(chunk),
                payments=report.payments + payments,
                first_order_no=report.first_order_no or first,
                last_order_no=last,
            )
    finally:
        sandbox.close()
    return replace(report, states=dict(states), seconds=time.perf_counter() - started)


def seed_demo(
    db: Database,
    *,
    sandbox_url: str,
    orders: int = 200,
    seed: int = 1,
    now: datetime | None = None,
    chunk_size: int = 10_000,
    http_chunk: int = 5_000,
) -> DemoReport:
    """Add ``orders`` demo orders (numbers after the current maximum) and their payments.

    Each chunk is one transaction under the seeding lock: orders and items are inserted,
    the payments created in the sandbox, the snapshot rows written. A failure rolls back
    the chunk (the sandbox may keep orphan payments; their ids are never reused).
    """
    if orders < 0:
        raise ValueError("orders must be >= 0")
    now = as_utc(now) if now else utcnow()
    return _seed(
        lambda: _seed_transaction(db),
        sandbox_url=sandbox_url,
        orders=orders,
        seed=seed,
        now=now,
        chunk_size=chunk_size,
        http_chunk=http_chunk,
    )


@contextmanager
def _seed_transaction(db: Database) -> Iterator[Connection]:
    """A transaction holding the seeding lock (BEGIN IMMEDIATE / advisory xact lock)."""
    with db.connect(immediate=True) as conn:
        _lock(conn)
        yield conn


def seed_demo_if_empty(
    db: Database,
    sandbox_url: str,
    *,
    orders: int = 200,
    seed: int = 1,
    now: datetime | None = None,
) -> DemoReport:
    """Seed only when there are no orders. Two processes starting at once seed once: the
    check and the whole seeding run in one transaction holding the seeding lock."""
    now = as_utc(now) if now else utcnow()
    with _seed_transaction(db) as conn:
        if conn.execute(select(Order.id).limit(1)).first() is not None:
            return DemoReport(skipped=True)
        return _seed(
            lambda: nullcontext(conn),
            sandbox_url=sandbox_url,
            orders=orders,
            seed=seed,
            now=now,
            chunk_size=10_000,
            http_chunk=5_000,
        )
