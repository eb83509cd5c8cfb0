"""The four customer mails, in Japanese (the shop's customers are Japanese): the UI language
never changes them. Pure: facts in, subject and body out.

The shop name is the display name of ``MAIL_FROM`` (``"カゴラボ公式ストア <shop@example.jp>"``);
without one the mail says 当ショップ and the subject has no 【shop】 prefix."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.domain.errors import RuleViolation
from core.timeutil import fmt_jst

DEFAULT_SHOP = "当ショップ"
RULE = "━━━━━━━━━━━━━━━━━━━━━━━━"


class Template(StrEnum):
    ORDER = "order"  # 受注確認
    SHIPPED = "shipped"  # 発送のお知らせ
    CANCELLED = "cancelled"  # キャンセル
    REFUNDED = "refunded"  # 払い戻し完了


LABELS: dict[Template, tuple[str, str]] = {
    Template.ORDER: ("受注確認", "Order confirmation"),
    Template.SHIPPED: ("発送のお知らせ", "Shipping notice"),
    Template.CANCELLED: ("キャンセル", "Cancellation"),
    Template.REFUNDED: ("払い戻し完了", "Refund completed"),
}


def template_label(template: Template | str, lang: str = "ja") -> str:
    ja, en = LABELS[Template(template)]
    return ja if lang == "ja" else en


class NothingRefunded(RuleViolation):
    code = "nothing_refunded"
    ja = "この受注には払い戻し実績がないため、払い戻し完了メールは送信できません(Paidy決済情報をご確認ください)。"
    en = "Nothing has been refunded on this order, so the refund mail cannot be sent (check the Paidy payment)."


@dataclass(frozen=True)
class Line:
    name: str
    unit_price: int
    quantity: int


@dataclass(frozen=True)
class Facts:
    """What a mail may say about an order; customer text already made one-line."""

    order_no: int
    customer_name: str
    ordered_at: datetime | None
    shipped_at: datetime | None
    payment_method: str  # the Japanese label
    items: tuple[Line, ...]
    subtotal: int
    shipping_fee: int
    tax: int
    total: int
    captured: int = 0  # our Paidy snapshot
    refunded: int = 0


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


def render(template: Template | str, facts: Facts, shop_name: str, shop_address: str) -> MailText:
    """The subject and body; raises ``NothingRefunded`` for a refund mail without a refund."""
    template = Template(template)
    shop = shop_name or DEFAULT_SHOP
    prefix = f"【{shop_name}】" if shop_name else ""
    if template is Template.REFUNDED and facts.refunded <= 0:
        raise NothingRefunded()
    subject, lead, tail = _PARTS[template](facts, shop)
    greeting = f"{facts.customer_name} 様" if facts.customer_name else "お客様"
    body = "\n".join(
        [
            greeting,
            "",
            *lead,
            "",
            RULE,
            *_order_block(template, facts),
            RULE,
            "",
            *tail,
            "ご不明な点がございましたら、お気軽に本メールへご返信ください。",
            "",
            f"今後とも{shop}をよろしくお願い申し上げます。",
            "",
            "--",
            shop,
            shop_address,
            "※本メールはご注文に関する大切なお知らせのため、配信停止の設定にかかわらずお送りしています。",
        ]
    )
    return MailText(f"{prefix}{subject}(注文番号: {facts.order_no})", body + "\n")


def _order_block(template: Template, f: Facts) -> list[str]:
    lines = [
        "■ご注文内容",
        f"注文番号: {f.order_no}",
        f"ご注文日時: {fmt_jst(f.ordered_at) or '-'}",
        f"お支払い方法: {f.payment_method or '-'}",
    ]
    if template is Template.SHIPPED and f.shipped_at is not None:
        lines.append(f"発送日: {fmt_jst(f.shipped_at, with_time=False)}")
    lines.append("")
    for item in f.items:
        lines.append(f"・{item.name}")
        lines.append(
            f"    {_yen(item.unit_price)} × {item.quantity:,}点 = {_yen(item.unit_price * item.quantity)}"
        )
    lines += [
        "",
        f"小計: {_yen(f.subtotal)}",
        f"送料: {_yen(f.shipping_fee)}",
        f"消費税: {_yen(f.tax)}",
        f"お支払い合計: {_yen(f.total)}",
    ]
    if template is Template.REFUNDED:
        lines += [
            "",
            "■払い戻し(ご返金)",
            f"払い戻し金額: {_yen(f.refunded)}",
            f"払い戻し後のご請求金額: {_yen(max(f.captured - f.refunded, 0))}",
        ]
    return lines


def _order(f: Facts, shop: str) -> tuple[str, list[str], list[str]]:
    return (
        "ご注文ありがとうございます",
        [
            f"このたびは{shop}をご利用いただき、誠にありがとうございます。",
            "以下の内容でご注文を承りましたので、ご確認ください。",
        ],
        ["商品の発送準備が整いましたら、あらためてご連絡いたします。"],
    )


def _shipped(f: Facts, shop: str) -> tuple[str, list[str], list[str]]:
    return (
        "商品発送のお知らせ",
        [
            f"このたびは{shop}をご利用いただき、誠にありがとうございます。",
            "ご注文いただいた商品を発送いたしましたので、お知らせいたします。",
        ],
        ["商品の到着まで、今しばらくお待ちくださいますようお願い申し上げます。"],
    )


def _cancelled(f: Facts, shop: str) -> tuple[str, list[str], list[str]]:
    return (
        "ご注文キャンセルのお知らせ",
        [
            f"このたびは{shop}をご利用いただき、誠にありがとうございます。",
            "以下のご注文につきまして、キャンセルの手続きを承りました。",
        ],
        [
            "Paidy翌月払いでご請求済みの代金がある場合は、払い戻しの手続き完了後にあらためてご連絡いたします。",
            "またのご利用を心よりお待ちしております。",
        ],
    )


def _refunded(f: Facts, shop: str) -> tuple[str, list[str], list[str]]:
    return (
        "払い戻し(ご返金)完了のお知らせ",
        [
            f"このたびは{shop}をご利用いただき、誠にありがとうございます。",
            "以下のご注文につきまして、払い戻し(ご返金)の手続きが完了いたしました。",
        ],
        [
            "払い戻し金額はPaidyからのご請求に反映されます(反映までお時間をいただく場合がございます)。",
            "ご請求内容はPaidyアプリまたはMyPaidyでご確認いただけます。",
        ],
    )


_PARTS = {
    Template.ORDER: _order,
    Template.SHIPPED: _shipped,
    Template.CANCELLED: _cancelled,
    Template.REFUNDED: _refunded,
}


def _yen(amount: int) -> str:
    return f"{int(amount):,}円"
