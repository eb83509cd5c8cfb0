"""Configuration rules: mode from the key, the masked key, refusing a live key without login."""

import pytest

from core.settings import AuthMode, ConfigurationError, Mode, Settings, check_startup, mask_key

LIVE = "sk_live_0123456789abcdefWXYZ"


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
        check_startup(Settings(paidy_secret_key=LIVE, auth_mode="none"))
    assert "AUTH_MODE" in info.value.message("ja") and "AUTH_MODE" in info.value.message("en")
    check_startup(Settings(paidy_secret_key=LIVE))  # defaults to password: fine
    check_startup(Settings(paidy_secret_key="sk_test_abcdefghijkl", auth_mode="none"))
    check_startup(Settings())


def test_auth_mode_defaults():
    assert Settings().effective_auth_mode is AuthMode.NONE
    assert (
        Settings(paidy_secret_key="sk_test_abcdefghijkl").effective_auth_mode is AuthMode.PASSWORD
    )
