"""メール通知 on the screens (AppTest): the order page's preview and send through the embedded
demo SMTP server (a real aiosmtpd on a free port), refusals that send nothing, the deep
link from the list row, and the demo inbox on 設定."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from core.mail.inbox import read_inbox
from core.search import get_order
from core.settings import reload_settings
from core.storage.models import Order
from tests.app.conftest import assert_clean, frame_with, joined


@pytest.fixture
def mail_dir(app_env, monkeypatch, tmp_path):
    """Demo mode's embedded SMTP server keeps mail here (set before the runtime is built)."""
    path = tmp_path / "demo_mail"
    monkeypatch.setenv("DEMO_MAIL_DIR", str(path))
    reload_settings()
    return path


def order_page(app_env, no: int, **query):
    at = app_env.app("pages/order.py", query={"order": no, **query})
    assert_clean(at)
    return at


def texts(at) -> list[str]:
    return [str(e.value) for e in at.text]


def fields(at, field: str = "件名") -> dict[str, str]:
    """The first label/value table that has ``field`` (the mail preview's head first)."""
    for df in at.dataframe:
        v = df.value
        if {"field", "value"} <= set(v.columns) and field in set(v["field"]):
            return dict(zip(v["field"], v["value"], strict=True))
    raise AssertionError(f"no table with {field}")


def body(at) -> str:
    return "\n".join(str(c.value) for c in at.code)


def test_preview_then_send_from_the_order_page(app_env, mail_dir):
    no = app_env.order_in_state("captured")
    order = get_order(app_env.db, no)
    at = order_page(app_env, no)
    assert at.selectbox(key=f"mail_template_{no}").value == "order"
    head = fields(at)
    assert head["件名"] == f"【デモショップ】ご注文ありがとうございます(注文番号: {no})"
    assert head["宛先"] == f"{order.customer_name} <{order.email}>"
    assert head["差出人"] == "デモショップ <shop@example.com>"
    assert f"{order.customer_name} 様" in body(at) and f"お支払い合計: {order.total:,}円" in body(
        at
    )
    assert read_inbox(mail_dir) == []  # a preview sends nothing

    at.selectbox(key=f"mail_template_{no}").set_value("shipped").run()
    assert fields(at)["件名"] == f"【デモショップ】商品発送のお知らせ(注文番号: {no})"
    at.button(key=f"mail_send_{no}_shipped").click().run()
    assert_clean(at)
    assert [str(s.value) for s in at.success] == ["メール「発送のお知らせ」を送信しました。"]
    assert order.email in [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
    kept = read_inbox(mail_dir)
    assert [m.subject for m in kept] == [f"【デモショップ】商品発送のお知らせ(注文番号: {no})"]
    assert kept[0].envelope_to == order.email and f"注文番号: {no}" in kept[0].body
    # sent: the same preview cannot be sent again by another click, only by「もう一度送信する」
    assert not [b for b in at.button if b.key == f"mail_send_{no}_shipped"]
    assert "送信済み" in frame_with(at, "template", "status")["status"].tolist()
    at.button(key=f"mail_again_{no}_shipped").click().run()
    at.button(key=f"mail_send_{no}_shipped").click().run()
    assert len(read_inbox(mail_dir)) == 2
    assert "デモ受信箱(この受注のメール)" in joined(at)


def test_a_bad_address_is_a_message_and_the_send_button_is_off(app_env, mail_dir):
    no = app_env.order_in_state("open")
    with app_env.db.session() as s:
        s.execute(update(Order).where(Order.order_no == no).values(email="yamada@@example"))
    at = app_env.app("pages/order.py", query={"order": no}, lang="en")
    assert_clean(at)
    assert any("is not a valid address, so no mail was sent" in str(e.value) for e in at.error)
    assert at.button(key=f"mail_send_{no}_order").disabled
    assert "様" in body(at)  # the customer mail stays Japanese under the English UI
    assert read_inbox(mail_dir) == []


def test_the_list_rows_mail_link_opens_the_mail_section_expanded(app_env, mail_dir):
    at = app_env.app("pages/orders.py")
    assert_clean(at)
    links = frame_with(at, "mail", "order_no")
    first = int(links["order_no"].iloc[0])
    assert links["mail"].iloc[0] == f"/order?order={first}&mail=1"
    at = order_page(app_env, first, mail=1)
    mail = [e for e in at.expander if e.label == "メール通知"]
    assert mail and mail[0].proto.expanded


def test_settings_shows_the_mail_server_and_the_demo_inbox(app_env, mail_dir):
    no = app_env.order_in_state("open")
    at = order_page(app_env, no)
    at.button(key=f"mail_send_{no}_order").click().run()
    at = app_env.app("pages/settings.py")
    assert_clean(at)
    assert any(t.startswith("SMTPサーバー: demo (embedded SMTP") for t in texts(at))
    inbox = frame_with(at, "received", "to", "subject")
    assert inbox["subject"].tolist() == [
        f"【デモショップ】ご注文ありがとうございます(注文番号: {no})"
    ]
    assert f"注文番号: {no}" in body(at)


def test_the_smtp_password_is_masked_on_screen_and_a_send_is_refused_clearly(app_env, monkeypatch):
    from tests.secrets import SMTP_PASSWORD

    # a real server address with nothing listening: the send fails, and says so
    monkeypatch.setenv("SMTP_URL", f"smtp://mailer:{SMTP_PASSWORD}@127.0.0.1:9")
    monkeypatch.setenv("MAIL_FROM", "テストショップ <shop@example.jp>")
    reload_settings()
    at = app_env.app("pages/settings.py")
    assert_clean(at)
    assert "SMTPサーバー: smtp://mailer:****@127.0.0.1:9" in texts(at)
    no = app_env.order_in_state("open")
    at = order_page(app_env, no)
    at.button(key=f"mail_send_{no}_order").click().run()
    assert_clean(at)
    assert any("接続できませんでした" in str(e.value) for e in at.error)
    shown = joined(at) + body(at) + repr([e.value for e in at.error])
    assert SMTP_PASSWORD not in shown
    at = app_env.app("pages/audit.py")
    assert_clean(at)
    tables = repr([df.value.to_dict() for df in at.dataframe])
    assert "メール通知" in tables and "接続できませんでした" in tables  # the attempt is logged
    assert SMTP_PASSWORD not in joined(at) + tables
