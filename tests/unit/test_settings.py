"""Configuration rules: mode from the key, the masked key, and refusing invalid or unsafe
values with one line that names the variable and what is allowed (and a log line)."""

import logging

import pytest

from core.settings import (
    AuthMode,
    ConfigurationError,
    Mode,
    Settings,
    check_startup,
    load_settings,
    mask_key,
)

LIVE = "sk_live_0123456789abcdefWXYZ"
PAIDY = "https://api.paidy.com"


@pytest.mark.parametrize(
    ("key", "mode"),
    [
        (None, Mode.DEMO),
        ("", Mode.DEMO),
        ("  ", Mode.DEMO),
        ("sk_test_abc123456789", Mode.TEST),
        (LIVE, Mode.LIVE),
    ],
)
def test_mode_follows_the_key(key, mode):
    assert Settings(paidy_secret_key=key).mode is mode


def test_masked_key_shows_prefix_and_last_four_only():
    assert mask_key(LIVE) == "sk_live_…WXYZ"
    assert mask_key("sk_test_short") == "sk_test_…"
    assert mask_key(None) == "-"
    s = Settings(paidy_secret_key=LIVE)
    assert (
        LIVE not in repr(s) and LIVE not in str(s.model_dump()) and s.masked_key == "sk_live_…WXYZ"
    )


def test_live_key_with_no_login_refuses_to_start():
    with pytest.raises(ConfigurationError) as info:
        check_startup(Settings(paidy_secret_key=LIVE, auth_mode="none", paidy_api_base=PAIDY))
    assert "AUTH_MODE" in info.value.message("ja") and "AUTH_MODE" in info.value.message("en")
    check_startup(Settings(paidy_secret_key=LIVE, paidy_api_base=PAIDY))  # password: fine
    check_startup(Settings(paidy_secret_key="sk_test_abcdefghijkl", auth_mode="none"))
    check_startup(Settings())


def test_auth_mode_defaults():
    assert Settings().effective_auth_mode is AuthMode.NONE
    assert (
        Settings(paidy_secret_key="sk_test_abcdefghijkl").effective_auth_mode is AuthMode.PASSWORD
    )


@pytest.mark.parametrize(
    ("base", "allowed_host"),
    [
        ("http://api.paidy.com", True),  # plain http: never with a live key
        ("http://127.0.0.1:8765", True),
        ("https://paidy.example.net", False),  # another host: only with the opt-in
        ("https://api.paidy.com.evil.example", False),
    ],
)
def test_a_live_key_goes_only_to_paidy_over_https(base, allowed_host):
    s = Settings(paidy_secret_key=LIVE, paidy_api_base=base)
    with pytest.raises(ConfigurationError) as info:
        check_startup(s)
    assert info.value.message("en").startswith("PAIDY_API_BASE")
    assert LIVE not in info.value.message("en") + info.value.message("ja")
    custom = Settings(paidy_secret_key=LIVE, paidy_api_base=base, paidy_allow_custom_host=True)
    if allowed_host:  # http stays refused even with the opt-in
        with pytest.raises(ConfigurationError):
            check_startup(custom)
    else:
        check_startup(custom)


def test_a_test_key_may_use_a_local_http_sandbox():
    check_startup(
        Settings(paidy_secret_key="sk_test_abcdefghijkl", paidy_api_base="http://127.0.0.1:1")
    )


@pytest.mark.parametrize(
    ("var", "value", "allowed"),
    [
        ("PAIDY_TIMEOUT_S", "abc", "a number of seconds above 0, at most 300"),
        ("PAIDY_TIMEOUT_S", "0", "a number of seconds above 0, at most 300"),
        ("PAIDY_CONCURRENCY", "0", "a whole number from 1 to 64"),
        ("PAIDY_CONCURRENCY", "many", "a whole number from 1 to 64"),
        ("AUTH_MODE", "x", "one of none, password, oidc"),
        ("SESSION_TIMEOUT_MIN", "0", "a whole number of minutes from 1 to 10080"),
        ("PAIDY_ALLOW_CUSTOM_HOST", "perhaps", "1 or 0"),
        ("PAIDY_API_BASE", "file:///etc/passwd", "an http:// or https:// URL"),
        ("PAIDY_API_BASE", "ftp://api.paidy.com", "an http:// or https:// URL"),
        ("PAIDY_API_BASE", "https://", "an http:// or https:// URL"),
    ],
)
def test_an_invalid_value_is_one_line_naming_the_variable(monkeypatch, caplog, var, value, allowed):
    monkeypatch.setenv(var, value)
    with (
        caplog.at_level(logging.ERROR, logger="core.settings"),
        pytest.raises(ConfigurationError) as info,
    ):
        load_settings()
    en, ja = info.value.message("en"), info.value.message("ja")
    assert en.startswith(var) and allowed in en and "\n" not in en
    assert ja.startswith(var) and "\n" not in ja
    assert "ValidationError" not in en and "pydantic" not in en
    assert any(var in r.getMessage() for r in caplog.records), "no log line"


def test_a_live_key_without_https_is_refused_by_load_settings_and_logged(monkeypatch, caplog):
    monkeypatch.setenv("PAIDY_SECRET_KEY", LIVE)
    monkeypatch.setenv("PAIDY_API_BASE", "http://api.paidy.com")
    monkeypatch.setenv("AUTH_MODE", "password")
    with (
        caplog.at_level(logging.ERROR, logger="core.settings"),
        pytest.raises(ConfigurationError) as info,
    ):
        load_settings()
    assert "https" in info.value.message("en")
    assert any("PAIDY_API_BASE" in r.getMessage() for r in caplog.records)
    assert not any(LIVE in r.getMessage() for r in caplog.records)


def test_a_secret_value_is_never_repeated(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:hunter2@db/x")
    monkeypatch.setenv("PAIDY_API_BASE", "https://user:hunter2@api.paidy.com")
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert "hunter2" not in info.value.message("en") + info.value.message("ja")
