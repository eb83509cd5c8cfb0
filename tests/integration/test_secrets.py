"""The secret key never appears in output, logs, the audit log, exceptions shown to users,
CSV, or the database. (The session-end hook in tests/conftest.py also scans every file.)"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import inspect, text

from core.cli import main
from core.paidy.client import PaidyClient
from core.paidy.errors import PaidyAPIError
from core.settings import Settings, reload_settings
from tests.secrets import CLI_KEY, LIVE_KEY


def dump_database(db) -> str:
    """Every value of every table, as text."""
    parts = []
    with db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            if table.startswith("orders_fts"):  # SQLite's contentless search index: no rows to read
                continue
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_a_full_cli_session_never_writes_the_key(
    monkeypatch, db, sandbox, world, tmp_path, capsys, caplog
):
    caplog.set_level(logging.DEBUG)
    for k, v in {
        "DATABASE_URL": db.url,
        "PAIDY_API_BASE": sandbox.url,
        "PAIDY_SECRET_KEY": CLI_KEY,
        "AUTH_MODE": "none",
    }.items():
        monkeypatch.setenv(k, v)
    reload_settings()
    try:
        a, b = world.order(), world.order("captured")
        pid = world.payment()
        world.fault("error_500", method="POST")
        out_csv = tmp_path / "export.csv"
        for argv in (
            ["capture", str(a)],
            ["capture", str(a)],
            ["refund", str(b), "--amount", "100"],
            ["link", pid],
            ["sync"],
            ["export", "--out", str(out_csv)],
            ["refund", str(b), "--amount", "x"],
        ):
            main(argv)
    finally:
        reload_settings()
    out, err = capsys.readouterr()
    everything = "\n".join(
        [out, err, caplog.text, out_csv.read_text(encoding="utf-8-sig"), dump_database(db)]
    )
    assert CLI_KEY not in everything
    assert CLI_KEY[-12:] not in everything  # not even a long tail of it


def test_rejected_key_error_does_not_echo_the_key(sandbox):
    client = PaidyClient(sandbox.url, "bad_" + LIVE_KEY)
    with pytest.raises(PaidyAPIError) as info:
        client.get_payment("pay_abc")
    err = info.value
    assert err.http_status == 401
    for text_ in (str(err), repr(err), err.message("ja"), err.message("en"), repr(client)):
        assert LIVE_KEY not in text_


def test_settings_never_render_the_key():
    s = Settings(paidy_secret_key=LIVE_KEY)
    for text_ in (repr(s), str(s), s.model_dump_json(), s.masked_key):
        assert LIVE_KEY not in text_
    assert s.masked_key.endswith(LIVE_KEY[-4:])
