"""Every screen in both languages, after a day of work (captures, a refund with a reason, a
cancelled order's close, refusals, 対応状況 changes, a save, a deletion, a batch job): no
"None", no raw stored keys (``in_progress``, ``backordered``, ``settled``, ``late`` ...) in
visible text or cells, every column header translated, no English "Select all" in a
multiselect; and the same audit entries read in the reader's language."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from core.domain.orders import Gender, OrderStatus, PaymentMethod, PaymentStatus
from core.domain.states import Action, PaymentState
from core.operations import batch as jobs
from core.operations import payments
from core.operations.delete import delete_orders
from core.operations.orders import change_status, form_values, save_order
from core.roles import Actor, Role
from core.search import get_order
from tests.app.conftest import assert_clean

OPERATOR = Actor("sato", Role.OPERATOR)
ADMIN = Actor("admin", Role.ADMIN)

OUTCOMES = ("ok", "skipped", "failed", "unknown", "intent", "settled", "late", "pending",
            "running")  # fmt: skip
VOCABULARIES = (OrderStatus, PaymentStatus, PaymentMethod, Gender, PaymentState, Action)
EVENTS = ("order_save", "status_change", "webhook", "link", "review", "mail", "delete",
          "restore")  # fmt: skip
RAW = {*(m.value for e in VOCABULARIES for m in e), *OUTCOMES, *EVENTS}
#: raw keys with an underscore: never a word of either language
SNAKE = re.compile(r"\b(" + "|".join(sorted((k for k in RAW if "_" in k), key=len, reverse=True)) + r")\b")  # fmt: skip
#: Japanese screens: no ASCII stored key as a word at all (Paidy's own status, shown as
#: "(Paidy: closed)", is Paidy's word and stays)
JA_RAW = re.compile(r"\b(" + "|".join(sorted(RAW, key=len, reverse=True)) + r")\b")
PAIDY_STATUS = re.compile(r"\(Paidy: \w+\)")
NONE = re.compile(r"\bNone\b|\bnan\b|<NA>|NaT")


@pytest.fixture
def worked(app_env):
    """A day's work through core: what the screens then show."""
    from pages import _ui

    ops = _ui.runtime().ops
    db = app_env.db
    same = [
        n
        for n in app_env.orders_in_state("open")
        if get_order(db, n).total == get_order(db, n).payment.amount
    ]
    captured = payments.capture(ops, OPERATOR, same[0])
    assert captured.ok, captured.message_en
    refunded = app_env.order_in_state("captured")
    assert payments.refund(ops, OPERATOR, refunded, 500, "箱の破損").ok
    cancel = same[1]
    change_status(ops, OPERATOR, [cancel], "cancelled")
    assert payments.close(ops, OPERATOR, cancel).ok
    closed = payments.close(ops, OPERATOR, same[2])  # the cancel rule sets キャンセル too
    assert closed.ok and "キャンセルに変更" in closed.message_ja
    expired = app_env.order_in_state("expired")
    assert not payments.capture(ops, OPERATOR, expired).ok  # refused: skipped
    payments.refund(ops, Actor("guest", Role.VIEWER), refunded, 1)  # permission refused
    gone = app_env.order_in_state("refunded")
    used = {same[0], same[1], same[2], refunded, expired, gone}
    spare = [n for n in app_env.orders_in_state("open") if n not in used]
    change_status(ops, OPERATOR, [spare[0]], "in_progress")
    change_status(ops, OPERATOR, [spare[1]], "backordered")
    saved = get_order(db, spare[2])
    values = form_values(saved)
    save_order(
        ops,
        OPERATOR,
        spare[2],
        items=[
            {"product_code": c, "product_name": n, "unit_price": p, "quantity": q}
            for c, n, p, q in values["items"]
        ],
        shipping_fee=values["shipping_fee"],
        tax=values["tax"],
        status="awaiting_payment",
        customer={k: values[k] for k in ("customer_name", "customer_kana", "email", "phone",
                                         "zip", "prefecture", "address1", "address2", "note")},
        expected_version=saved.version,
    )  # fmt: skip
    assert delete_orders(ops, ADMIN, [gone])[0].outcome == "ok"
    job = jobs.create_job(ops, OPERATOR, "refresh", [refunded, cancel, expired])
    jobs.run_job(ops, job)
    return {"refunded": refunded, "cancel": cancel, "expired": expired, "open": spare[0],
            "job": job, "status_saved": spare[2]}  # fmt: skip


def visible(at) -> list[str]:
    """Every string a person can read on the screen AppTest rendered."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "text", "caption", "success",
                 "info", "warning", "error", "exception", "toast"):  # fmt: skip
        out.extend(str(e.value) for e in getattr(at, kind))
    for kind in ("button", "text_input", "text_area", "number_input", "date_input",
                 "checkbox", "toggle", "selectbox", "multiselect", "radio"):  # fmt: skip
        for w in getattr(at, kind):
            out.append(str(w.label))
            out.extend(str(o) for o in getattr(w, "options", []) or [])
    out.extend(str(b.label) for b in at.get("download_button"))
    out.extend(e.label for e in at.expander)
    out.extend(t.label for t in at.tabs)
    for m in at.metric:
        out.extend([m.label, m.value, str(m.proto.delta)])
    for df in at.dataframe:
        out.extend(headers(df).values())
        out.extend(str(v) for v in cells(df))
    return out


def headers(df) -> dict[str, str]:
    """Each shown column of a table and the header it is shown with."""
    config = json.loads(df.proto.columns) if df.proto.columns else {}
    frame = df.value
    return {
        str(c): str((config.get(str(c)) or {}).get("label") or c)
        for c in frame.columns
        if not (config.get(str(c)) or {}).get("hidden")
    }


def cells(df) -> list[object]:
    """The table's values (missing ones are shown as the table's placeholder: see below);
    a link column shows its display text, not the URL."""
    config = json.loads(df.proto.columns) if df.proto.columns else {}
    frame = df.value
    return [
        v
        for col in frame.columns
        if ((config.get(str(col)) or {}).get("type_config") or {}).get("type") != "link"
        for v in frame[col].tolist()
        if not pd.isna(v)
    ]


def problems(at, lang: str) -> list[str]:
    found = []
    for text in visible(at):
        if NONE.search(text):
            found.append(f"None: {text!r}")
        if SNAKE.search(text):
            found.append(f"raw key: {text!r}")
        if lang == "ja" and JA_RAW.search(PAIDY_STATUS.sub("", text)):
            found.append(f"raw key on the Japanese screen: {text!r}")
    for df in at.dataframe:
        for col, label in headers(df).items():
            if label == col and (re.fullmatch(r"[a-z_]+", col) or lang == "ja"):
                found.append(f"untranslated column {col!r}")
        for v in cells(df):
            if isinstance(v, str) and v in RAW:
                found.append(f"raw cell {v!r}")
        if df.value.isna().to_numpy().any() and not df.proto.HasField("placeholder"):
            found.append(f"a missing value shown as 'None' in {list(df.value.columns)}")
    for ms in at.multiselect:
        if ms.proto.select_all != 0:
            found.append(f"multiselect {ms.label!r} offers English 'Select all'")
    return found


def screens(app_env, worked) -> list[tuple[str, dict]]:
    return [
        ("pages/dashboard.py", {}),
        ("pages/orders.py", {}),
        ("pages/order.py", {"order": worked["refunded"]}),
        ("pages/order.py", {"order": worked["cancel"]}),
        ("pages/order.py", {"order": worked["expired"]}),
        ("pages/order.py", {"order": worked["open"]}),
        ("pages/order.py", {"order": worked["status_saved"]}),
        ("pages/batch.py", {"job": worked["job"]}),
        ("pages/audit.py", {}),
        ("pages/settings.py", {}),
        ("pages/deleted.py", {}),
    ]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_screen_reads_in_its_language(app_env, worked, lang):
    for page, query in screens(app_env, worked):
        at = app_env.app(page, lang=lang, query=query)
        assert_clean(at)
        assert not problems(at, lang), (page, query, problems(at, lang))


def test_the_same_entries_read_in_each_language(app_env, worked):
    def audit_messages(lang: str) -> pd.Series:
        at = app_env.app("pages/audit.py", lang=lang)
        frame = next(df.value for df in at.dataframe if "message" in df.value.columns)
        return frame.set_index("id")["message"]

    ja, en = audit_messages("ja"), audit_messages("en")
    assert list(ja.index) == list(en.index)
    assert any("払い戻し処理が成功しました (500円)" == m for m in ja)
    assert any("Refund succeeded (500 yen)" == m for m in en)
    assert any("売上確定(キャプチャ)有効期限を過ぎています" in m for m in ja)
    assert any("The authorization has expired" in m for m in en)
    assert any("対応状況 新規受付→入金待ち" in m or "→入金待ち" in m for m in ja)
    assert any("→ Awaiting payment" in m for m in en)
    assert any("対応状況を 取り寄せ中 に変更" in m for m in ja)
    assert any("Order status set to Backordered" in m for m in en)
    assert any("(対応状況をキャンセルに変更しました)" in m for m in ja)
    assert any("(order status set to Cancelled)" in m for m in en)
    assert any("閲覧者" in m for m in ja) and any("(Viewer)" in m for m in en)
    assert not any(re.search(r"[ぁ-んァ-ン一-龥]", m) for m in en if "箱の破損" not in m)
    # Paidy処理結果 and the batch results, in English too
    at = app_env.app("pages/order.py", lang="en", query={"order": worked["refunded"]})
    assert "Refund succeeded (500 yen)" in "\n".join(visible(at))
    at = app_env.app("pages/batch.py", lang="en", query={"job": worked["job"]})
    items = next(df.value for df in at.dataframe if "position" in df.value.columns)
    assert all(m.startswith("Refreshed") for m in items["message"]), list(items["message"])


def test_entries_written_before_keep_their_text(app_env, worked):
    """An entry of the old shape (final Japanese text, English beside it, no keys) and one
    with a key this version does not know are shown as stored, in both languages."""
    from core.operations import audit
    from core.timeutil import utcnow

    audit.record_event(app_env.db, "old", "capture", "旧形式の日本語", utcnow(),
                       order_no=1, detail={"message_en": "old English"})  # fmt: skip
    audit.record_event(app_env.db, "old", "capture", "未来の形式", utcnow(), order_no=1,
                       detail={"msg": [{"code": "from_the_future", "params": {}}]})  # fmt: skip
    ja = "\n".join(visible(app_env.app("pages/audit.py", lang="ja")))
    en = "\n".join(visible(app_env.app("pages/audit.py", lang="en")))
    assert "旧形式の日本語" in ja and "old English" in en and "旧形式の日本語" not in en
    assert "未来の形式" in ja and "未来の形式" in en  # nothing better to show
