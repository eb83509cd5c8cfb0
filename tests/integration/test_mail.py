"""メール通知 end to end through a real SMTP server (aiosmtpd on a free port): what arrives is
parsed with the ``email`` package. STARTTLS/TLS with a CA made in the test, the double-send
guard under real concurrency, refusals that send nothing, the CLI. SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.cli import main
from core.mail.demo_server import DemoMailer, LocalSmtpServer
from core.mail.inbox import read_inbox
from core.mail.service import MailService, send_mail
from core.mail.smtp import SmtpMailer, parse_smtp_url
from core.settings import reload_settings
from core.storage.models import AuditLog, MailSend, Order
from tests.fixtures_ops import OPERATOR, VIEWER
from tests.mail_support import (
    SMTP_PASSWORD,
    SMTP_USER,
    Recorder,
    authenticator,
    make_certs,
)
from tests.secrets import CLI_KEY

SHOP = "テストショップ <shop@example.jp>"


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def smtp(recorder):
    """A plain SMTP server (no TLS offered) that records what it receives."""
    with LocalSmtpServer(recorder) as server:
        yield server
    recorder.release()


def service(db, url: str, **kw) -> MailService:
    return MailService(db, SmtpMailer(parse_smtp_url(url), **kw), SHOP)


def set_customer(db, order_no: int, **values) -> None:
    with db.session() as s:
        order = s.scalars(select(Order).where(Order.order_no == order_no)).one()
        for k, v in values.items():
            setattr(order, k, v)


def audit_rows(db, order_no: int) -> list[AuditLog]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditLog)
                .where(AuditLog.order_no == order_no, AuditLog.action == "mail")
                .order_by(AuditLog.id)
            )
        )


# --------------------------------------------------------------------------- what arrives
def test_order_mail_arrives_in_japanese_utf8_with_encoded_headers(world, smtp, recorder):
    n = world.order(price=1380, qty=2, shipping=550, tax=276)
    ms = service(world.ops.db, smtp.url)
    result = send_mail(ms, OPERATOR, n, "order")
    assert result.outcome == "ok", result.message_en
    assert len(recorder.received) == 1
    got = recorder.received[0]
    assert got.raw.isascii()  # encoded-words and base64: 7-bit clean through any relay
    assert b"=?utf-8?" in got.raw.split(b"\r\n\r\n", 1)[0]
    msg = got.message
    assert msg["Subject"] == f"【テストショップ】ご注文ありがとうございます(注文番号: {n})"
    assert msg["From"].addresses[0].display_name == "テストショップ"
    assert msg["From"].addresses[0].addr_spec == "shop@example.jp"
    to = msg["To"].addresses
    assert len(to) == 1 and to[0].addr_spec == got.rcpt_tos[0]
    assert to[0].display_name.startswith("山田 太郎")
    assert got.mail_from == "shop@example.jp"
    assert msg.get_content_charset() == "utf-8" and msg["Message-ID"]
    body = msg.get_body(("plain",)).get_content()
    assert f"{to[0].display_name} 様" in body
    assert f"注文番号: {n}" in body
    assert "Paidyスニーカー" in body and "1,380円 × 2点 = 2,760円" in body
    assert "お支払い合計: 3,586円" in body
    rows = audit_rows(world.ops.db, n)
    assert [(r.outcome, r.actor) for r in rows] == [("ok", OPERATOR.name)]
    assert rows[0].detail["template"] == "order" and rows[0].detail["to"] == to[0].addr_spec
    with world.ops.db.session() as s:
        sent = s.scalars(select(MailSend).where(MailSend.order_no == n)).one()
    assert (sent.status, sent.inflight_key, sent.message_id) == ("sent", None, msg["Message-ID"])


def test_refund_mail_states_the_refunded_amount_from_our_snapshot(world, smtp, recorder):
    n = world.order("partially_refunded", price=5000, refund_amount=1200)
    ms = service(world.ops.db, smtp.url)
    assert send_mail(ms, OPERATOR, n, "refunded").outcome == "ok"
    msg = recorder.received[0].message
    assert msg["Subject"].endswith(f"払い戻し(ご返金)完了のお知らせ(注文番号: {n})")
    body = msg.get_body(("plain",)).get_content()
    assert "払い戻し金額: 1,200円" in body and "払い戻し後のご請求金額: 3,800円" in body
    assert audit_rows(world.ops.db, n)[0].amount == 1200

    unrefunded = world.order()
    r = send_mail(ms, OPERATOR, unrefunded, "refunded")
    assert (r.outcome, r.code) == ("skipped", "nothing_refunded")
    assert "払い戻し実績がない" in r.message("ja") and len(recorder.received) == 1


@pytest.mark.parametrize(
    ("email", "code"),
    [
        ("", "no_address"),
        ("   ", "no_address"),
        ("yamada.example.jp", "bad_address"),
        ("x@example.jp\r\nBcc: evil@example.com", "bad_address"),
        ("x@example.jp, evil@example.com", "bad_address"),
        ("山田@example.jp", "bad_address"),
    ],
)
def test_missing_or_bad_address_is_a_message_and_nothing_is_sent(
    world, smtp, recorder, email, code
):
    n = world.order()
    set_customer(world.ops.db, n, email=email)
    ms = service(world.ops.db, smtp.url)
    r = send_mail(ms, OPERATOR, n, "order")
    assert (r.outcome, r.code) == ("skipped", code)
    assert "メールは送信していません" in r.message("ja") and "no mail was sent" in r.message("en")
    assert "\n" not in r.message("ja") and "\r" not in r.message("en")
    assert recorder.received == []
    assert [a.outcome for a in audit_rows(world.ops.db, n)] == ["skipped"]
    with world.ops.db.session() as s:
        assert s.scalars(select(MailSend)).all() == []


def test_a_hostile_customer_name_cannot_add_headers_or_recipients(world, smtp, recorder):
    n = world.order()
    name = '山田\r\nBcc: evil@example.com\r\n\r\n"本文"\u202e'
    set_customer(world.ops.db, n, customer_name=name, email="x@example.jp")
    r = send_mail(service(world.ops.db, smtp.url), OPERATOR, n, "shipped")
    assert r.outcome == "ok"
    got = recorder.received[0]
    assert got.rcpt_tos == ["x@example.jp"]
    msg = got.message
    assert msg["Bcc"] is None and len(msg.get_all("To")) == 1
    assert msg["To"].addresses[0].display_name == '山田 Bcc: evil@example.com "本文"'
    assert msg["To"].addresses[0].addr_spec == "x@example.jp"


def test_a_viewer_cannot_send(world, smtp, recorder):
    n = world.order()
    r = send_mail(service(world.ops.db, smtp.url), VIEWER, n, "order")
    assert (r.outcome, r.code) == ("skipped", "permission_denied") and recorder.received == []


# --------------------------------------------------------------------------- TLS and login
def test_starttls_is_used_when_offered_and_the_login_goes_over_it(
    world, recorder, tmp_path, caplog
):
    certs = make_certs(tmp_path / "certs")
    caplog.set_level(logging.DEBUG)
    with LocalSmtpServer(
        recorder,
        tls_context=certs.server_context(),
        require_starttls=True,  # a client that skipped STARTTLS is refused (530)
        authenticator=authenticator,
        auth_require_tls=True,
    ) as server:
        url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{server.port}"
        ms = service(world.ops.db, url, ssl_context=certs.client_context())
        n = world.order()
        r = send_mail(ms, OPERATOR, n, "order")
        assert r.outcome == "ok", r.message_en
        assert [(g.tls, g.authenticated) for g in recorder.received] == [(True, True)]

        wrong = service(
            world.ops.db,
            f"smtp://{SMTP_USER}:wrong-{SMTP_PASSWORD}@127.0.0.1:{server.port}",
            ssl_context=certs.client_context(),
        )
        bad = send_mail(wrong, OPERATOR, n, "shipped")
        assert (bad.outcome, bad.code) == ("failed", "smtp_auth")
        assert "SMTP_URL" in bad.message("ja")

        untrusted = service(world.ops.db, url)  # the system's CAs do not know ours
        r = send_mail(untrusted, OPERATOR, n, "cancelled")
        assert (r.outcome, r.code) == ("failed", "smtp_tls")
        assert len(recorder.received) == 1
    assert ms.describe() == f"smtp://{SMTP_USER}:****@127.0.0.1:{server.port}"
    assert SMTP_PASSWORD not in repr(ms.mailer.config)
    # the password is in no audit entry, send row, result or log line
    with world.ops.db.session() as s:
        stored = [repr(vars(a)) for a in s.scalars(select(AuditLog))]
        stored += [repr(vars(m)) for m in s.scalars(select(MailSend))]
    assert stored and not any(SMTP_PASSWORD in x for x in stored)
    assert SMTP_PASSWORD not in caplog.text
    assert SMTP_PASSWORD not in repr(bad) + repr(r)


def test_smtps_is_tls_from_the_first_byte(world, recorder, tmp_path):
    certs = make_certs(tmp_path / "certs")
    with LocalSmtpServer(
        recorder,
        ssl_context=certs.server_context(),
        authenticator=authenticator,
        auth_require_tls=False,  # aiosmtpd counts only STARTTLS as TLS; this is TLS already
    ) as server:
        url = f"smtps://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{server.port}"
        ms = service(world.ops.db, url, ssl_context=certs.client_context())
        assert send_mail(ms, OPERATOR, world.order(), "order").outcome == "ok"
    assert [g.authenticated for g in recorder.received] == [True]


def test_an_unreachable_server_fails_clearly_and_the_same_click_may_retry(world, recorder):
    n = world.order()
    with LocalSmtpServer(recorder) as server:
        url = server.url
    down = send_mail(service(world.ops.db, url), OPERATOR, n, "order", token="click-1")
    assert (down.outcome, down.code) == ("failed", "smtp_unreachable")
    assert "接続できませんでした" in down.message("ja")
    with LocalSmtpServer(recorder) as server:  # back: the same click sends (nothing was sent)
        again = send_mail(service(world.ops.db, server.url), OPERATOR, n, "order", token="click-1")
    assert again.outcome == "ok" and len(recorder.received) == 1


def test_a_mailer_bug_is_logged_and_the_operator_reads_its_reference(world, caplog):
    class BrokenMailer:
        def describe(self) -> str:
            return "smtp://broken"

        def send(self, msg):
            raise ZeroDivisionError("a bug, not an SMTP answer")

    n = world.order()
    caplog.set_level(logging.ERROR, logger="core.mail.service")
    result = send_mail(MailService(world.ops.db, BrokenMailer(), SHOP), OPERATOR, n, "order")
    assert (result.outcome, result.code) == ("failed", "smtp_failed")
    ref = re.search(r"ref (E-[0-9a-f]{8})", result.message("en"))
    assert ref and ref.group(1) in result.message("ja") and "ZeroDivisionError" in result.message_en
    logged = [r for r in caplog.records if ref.group(1) in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info


# --------------------------------------------------------------------------- send once
def test_the_same_click_twice_at_once_sends_one_mail(world, smtp, recorder):
    n = world.order()
    ms = service(world.ops.db, smtp.url)
    barrier = threading.Barrier(4)

    def click():
        barrier.wait(5)
        return send_mail(ms, OPERATOR, n, "order", token="double-click")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: click(), range(4)))
    assert len(recorder.received) == 1
    outcomes = sorted((r.outcome, r.code) for r in results)
    assert outcomes[0] == ("ok", "sent")
    assert {c for _, c in outcomes[1:]} <= {"in_progress", "already_sent"}
    again = send_mail(ms, OPERATOR, n, "order", token="double-click")
    assert (again.outcome, again.code) == ("skipped", "already_sent")
    assert len(recorder.received) == 1
    assert len(audit_rows(world.ops.db, n)) == 5  # every attempt is in the audit log


def test_a_second_send_while_the_first_is_in_flight_is_refused(world, smtp, recorder):
    n = world.order()
    ms = service(world.ops.db, smtp.url)
    recorder.hold()
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(send_mail, ms, OPERATOR, n, "order", token="run-1")
        assert recorder.in_data.wait(10)  # the first send is inside DATA now
        rerun = send_mail(ms, OPERATOR, n, "order", token="run-2")  # e.g. a CLI rerun
        same_click = send_mail(ms, OPERATOR, n, "order", token="run-1")
        other = pool.submit(send_mail, ms, OPERATOR, n, "shipped", token="run-3")
        recorder.release()
        assert first.result(10).outcome == "ok"
        assert other.result(10).outcome == "ok"  # another template is another mail
    assert (rerun.outcome, rerun.code) == ("skipped", "in_progress")
    assert (same_click.outcome, same_click.code) == ("skipped", "in_progress")
    assert sorted(r.message["Subject"][-12:] for r in recorder.received) == sorted(
        [f"(注文番号: {n})"[-12:]] * 2
    )
    assert len(recorder.received) == 2
    later = send_mail(ms, OPERATOR, n, "order", token="run-4")  # a deliberate resend
    assert later.outcome == "ok" and len(recorder.received) == 3


def test_a_send_left_in_flight_by_a_crash_is_taken_over_after_the_ttl(world, smtp, recorder):
    n = world.order()
    ms = service(world.ops.db, smtp.url)
    old = ms.now() - ms.inflight_ttl - timedelta(seconds=1)
    with world.ops.db.session() as s:
        s.add(MailSend(token="crashed", inflight_key=f"{n}:order", order_no=n, template="order",
                       status="sending", actor="x", created_at=old))  # fmt: skip
    assert send_mail(ms, OPERATOR, n, "order").outcome == "ok"
    with world.ops.db.session() as s:
        crashed = s.scalars(select(MailSend).where(MailSend.token == "crashed")).one()
    assert (crashed.status, crashed.inflight_key) == ("unknown", None)
    again = send_mail(ms, OPERATOR, n, "order", token="crashed")
    assert again.code == "previous_unknown" and len(recorder.received) == 1


# --------------------------------------------------------------------------- demo server
def test_the_demo_mailer_keeps_mail_in_its_maildir(world, tmp_path):
    mailer = DemoMailer(tmp_path / "demo_mail")
    ms = MailService(world.ops.db, mailer, "デモショップ <shop@example.com>")
    n = world.order()
    try:
        r = send_mail(ms, OPERATOR, n, "order")
    finally:
        mailer.stop()
    assert r.outcome == "ok"
    kept = read_inbox(tmp_path / "demo_mail")
    assert len(kept) == 1
    assert kept[0].subject == f"【デモショップ】ご注文ありがとうございます(注文番号: {n})"
    assert kept[0].envelope_to == r.to and kept[0].message_id == r.message_id
    assert f"注文番号: {n}" in kept[0].body
    assert read_inbox(tmp_path / "demo_mail", message_ids={"<other@x>"}) == []
    assert read_inbox(tmp_path / "absent") == []


# --------------------------------------------------------------------------- the CLI
@pytest.fixture
def mail_cli(monkeypatch, db, sandbox, smtp):
    env = {
        "DATABASE_URL": db.url,
        "PAIDY_API_BASE": sandbox.url,
        "PAIDY_SECRET_KEY": CLI_KEY,
        "AUTH_MODE": "none",
        "SMTP_URL": smtp.url,
        "MAIL_FROM": SHOP,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    reload_settings()
    yield env
    monkeypatch.undo()
    reload_settings()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and CLI_KEY not in out + err
    return code, out, err


def test_cli_dry_run_sends_nothing_and_prints_the_preview(mail_cli, capsys, world, recorder):
    a, b = world.order(), world.order()
    code, out, err = run(capsys, "mail", str(a), str(b), "--template", "order", "--dry-run")
    assert code == 0 and err == ""
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{a} mail order preview: to=")
    assert lines[0].endswith(f"subject=【テストショップ】ご注文ありがとうございます(注文番号: {a})")
    assert lines[1].startswith(f"{b} mail order preview")
    assert recorder.received == [] and audit_rows(world.ops.db, a) == []


def test_cli_sends_one_line_per_order_and_a_bad_address_exits_1(mail_cli, capsys, world, recorder):
    good, bad = world.order(), world.order()
    set_customer(world.ops.db, bad, email="not-an-address")
    code, out, err = run(capsys, "mail", str(good), str(bad), "--template", "shipped")
    lines = out.strip().splitlines()
    assert code == 1 and err == ""
    assert lines[0].startswith(f"{good} mail shipped ok (to t")
    assert lines[1].startswith(f"{bad} mail shipped skipped: bad_address: ")
    assert [r.rcpt_tos for r in recorder.received] == [[lines[0].split("(to ")[1][:-1]]]
    code, out, _ = run(capsys, "mail", "999999", "--template", "order")
    assert code == 1 and out.startswith("999999 mail order skipped: no_order")


@pytest.mark.parametrize(
    "argv",
    [["mail", "61"], ["mail", "61", "--template", "bogus"], ["mail", "--template", "order"]],
)
def test_cli_bad_arguments_exit_2(mail_cli, capsys, recorder, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert recorder.received == []


def test_cli_without_smtp_url_in_test_mode_says_so(mail_cli, monkeypatch, capsys, world):
    monkeypatch.delenv("SMTP_URL")
    reload_settings()
    code, out, _ = run(capsys, "mail", str(world.order()), "--template", "order")
    assert code == 1 and "SMTP_URL" in out
