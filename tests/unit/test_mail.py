"""メール通知, the pure parts: templates, one-line customer text, address rules, the MIME
message read back with the ``email`` package, SMTP_URL parsing and masking."""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.mail.compose import Mailbox, MailConfigError, compose, sender_from
from core.mail.smtp import _loopback, parse_smtp_url
from core.mail.templates import Facts, Line, NothingRefunded, Template, render, template_label
from core.mail.text import BadAddress, NoAddress, check_address, one_line

FACTS = Facts(
    order_no=61,
    customer_name="山田 花子🌸",
    ordered_at=datetime(2026, 11, 1, 1, 38, tzinfo=UTC),
    shipped_at=datetime(2026, 11, 3, 2, 0, tzinfo=UTC),
    payment_method="Paidy翌月払い(コンビニ/銀行)",
    items=(Line("Paidyスニーカー", 1380, 2), Line("靴下", 500, 1)),
    subtotal=3260,
    shipping_fee=550,
    tax=326,
    total=4136,
    captured=4136,
    refunded=1000,
)


@pytest.mark.parametrize(
    ("template", "subject"),
    [
        ("order", "【Paidyショップ】ご注文ありがとうございます(注文番号: 61)"),
        ("shipped", "【Paidyショップ】商品発送のお知らせ(注文番号: 61)"),
        ("cancelled", "【Paidyショップ】ご注文キャンセルのお知らせ(注文番号: 61)"),
        ("refunded", "【Paidyショップ】払い戻し(ご返金)完了のお知らせ(注文番号: 61)"),
    ],
)
def test_every_template_greets_the_customer_and_lists_the_order(template, subject):
    text = render(template, FACTS, "Paidyショップ", "shop@example.jp")
    assert text.subject == subject
    body = text.body
    assert body.startswith("山田 花子🌸 様\n")
    assert "このたびはPaidyショップをご利用いただき" in body
    assert "注文番号: 61" in body and "ご注文日時: 2026/11/01 10:38" in body
    assert "1,380円 × 2点 = 2,760円" in body and "500円 × 1点 = 500円" in body
    assert "お支払い合計: 4,136円" in body
    assert body.rstrip().endswith("配信停止の設定にかかわらずお送りしています。")
    assert ("払い戻し金額: 1,000円" in body) == (template == "refunded")
    assert ("発送日: 2026/11/03" in body) == (template == "shipped")


def test_refund_mail_states_refunded_and_remaining_billed_amounts():
    body = render("refunded", FACTS, "", "shop@example.jp").body
    assert "払い戻し金額: 1,000円" in body and "払い戻し後のご請求金額: 3,136円" in body


def test_refund_mail_without_a_refund_is_refused():
    no_refund = Facts(**{**FACTS.__dict__, "refunded": 0})
    with pytest.raises(NothingRefunded) as exc:
        render("refunded", no_refund, "", "shop@example.jp")
    assert "払い戻し実績がない" in exc.value.message("ja")


def test_without_a_shop_name_the_mail_says_toushop_and_no_prefix():
    nameless = Facts(**{**FACTS.__dict__, "customer_name": ""})
    text = render("order", nameless, "", "shop@example.jp")
    assert text.subject == "ご注文ありがとうございます(注文番号: 61)"
    assert text.body.startswith("お客様\n") and "このたびは当ショップを" in text.body


def test_template_labels_in_both_languages():
    assert [template_label(t, "ja") for t in Template] == [
        "受注確認",
        "発送のお知らせ",
        "キャンセル",
        "払い戻し完了",
    ]
    assert template_label("refunded", "en") == "Refund completed"


# ------------------------------------------------------------------------------ text rules
@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("山田 花子", "山田 花子"),
        ("山田\r\nBcc: x@y.jp", "山田 Bcc: x@y.jp"),
        ("a\u2028b\u2029c\x00d\te", "a b c d e"),
        ("evil\u202egnp.exe", "evil gnp.exe"),
        ("  𠮷田　太郎  ", "𠮷田 太郎"),  # every run of spaces is one space
        (None, ""),
    ],
)
def test_one_line(raw, clean):
    assert one_line(raw) == clean


@given(st.text())
def test_one_line_never_leaves_a_line_break(text):
    out = one_line(text)
    assert "\r" not in out and "\n" not in out and out == out.strip()


@pytest.mark.parametrize(
    "good", ["t1@example.jp", "-shop+demo@example.com", "a.b_c@mail.sub-domain.co.jp", " x@y.jp "]
)
def test_good_addresses(good):
    assert check_address(good) == good.strip()


@pytest.mark.parametrize(
    "bad",
    [
        "yamada",
        "@example.jp",
        "a@b",
        "a@@b.jp",
        "a b@c.jp",
        "a@-b.jp",
        "a..b@c.jp",
        ".a@c.jp",
        "山田@example.jp",
        "a@例え.jp",
        "a@b.jp\r\nBcc: evil@x.jp",
        "a@b.jp,c@d.jp",
        "<a@b.jp>",
        "x" * 65 + "@b.jp",
    ],
)
def test_bad_addresses_are_refused(bad):
    with pytest.raises(BadAddress) as exc:
        check_address(bad)
    assert "\n" not in exc.value.message("ja") and "no mail was sent" in exc.value.message("en")


@pytest.mark.parametrize("missing", ["", "   ", "\u3000", None])
def test_missing_address(missing):
    with pytest.raises(NoAddress):
        check_address(missing)


# ------------------------------------------------------------------------------ the message
def test_composed_message_reads_back_with_the_email_package():
    text = render("order", FACTS, "Paidyショップ", "shop@example.jp")
    msg = compose(
        text,
        sender=sender_from("Paidyショップ <shop@example.jp>"),
        to=Mailbox('山田 "花子", 様', "hanako@example.jp"),
        now=datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
    )
    raw = msg.as_bytes()
    assert raw.isascii() and b"\r\n" in raw  # SMTP policy: CRLF, 7-bit headers and body
    back = BytesParser(policy=policy.default).parsebytes(raw)
    assert back["Subject"] == text.subject
    assert back["From"].addresses[0].display_name == "Paidyショップ"
    to = back["To"].addresses
    assert len(to) == 1 and to[0].display_name == '山田 "花子", 様'
    assert to[0].addr_spec == "hanako@example.jp"
    assert back["Date"].datetime.utcoffset().total_seconds() == 9 * 3600  # JST
    assert back["Message-ID"].endswith("@example.jp>")
    assert back.get_content_type() == "text/plain" and back.get_content_charset() == "utf-8"
    assert back["Content-Transfer-Encoding"] == "base64"
    assert back.get_content().replace("\r\n", "\n") == text.body


@pytest.mark.parametrize(
    ("mail_from", "name", "address"),
    [
        ("カゴラボ公式ストア <shop@example.jp>", "カゴラボ公式ストア", "shop@example.jp"),
        ("shop@example.jp", "", "shop@example.jp"),
        ('"Shop, Inc."  <a@b.jp>', "Shop, Inc.", "a@b.jp"),
    ],
)
def test_sender_from_mail_from(mail_from, name, address):
    assert sender_from(mail_from) == Mailbox(name, address)


@pytest.mark.parametrize("bad", ["", "shop", "ショップ <>", "a@b.jp\r\nBcc: c@d.jp"])
def test_bad_mail_from_is_a_configuration_error(bad):
    with pytest.raises(MailConfigError) as exc:
        sender_from(bad)
    assert "MAIL_FROM" in exc.value.message("ja") and "MAIL_FROM" in exc.value.message("en")


# ------------------------------------------------------------------------------ SMTP_URL
def test_smtp_url_parsing_and_masking():
    cfg = parse_smtp_url("smtp://mailer%40shop:p%40ss%3Aword@mail.example.jp:2525")
    assert (cfg.scheme, cfg.host, cfg.port, cfg.username) == (
        "smtp",
        "mail.example.jp",
        2525,
        "mailer@shop",
    )
    assert cfg.password.get_secret_value() == "p@ss:word"
    assert cfg.masked == "smtp://mailer@shop:****@mail.example.jp:2525"
    assert "p@ss" not in repr(cfg) and "p@ss" not in cfg.masked
    assert parse_smtp_url("smtps://u:p@mail.example.jp").port == 465
    assert parse_smtp_url("smtp://relay.local").port == 587
    assert parse_smtp_url("smtp://relay.local").masked == "smtp://relay.local:587"


@pytest.mark.parametrize(
    "bad",
    ["", "http://u:secret-pw@h:25", "smtp://", "smtp://u:secret-pw@h:notaport", "mail.example.jp"],
)
def test_bad_smtp_url_never_repeats_the_password(bad):
    with pytest.raises(MailConfigError) as exc:
        parse_smtp_url(bad)
    assert "secret-pw" not in exc.value.message("ja") + exc.value.message("en")
    assert "SMTP_URL" in exc.value.message("ja")


def test_loopback_hosts():
    assert _loopback("127.0.0.1") and _loopback("::1") and _loopback("localhost")
    assert not _loopback("mail.example.jp") and not _loopback("10.0.0.1")
