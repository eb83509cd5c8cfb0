"""The one place configuration is read (environment variables, optionally a ``.env`` file).

Pages and the CLI call :func:`get_settings`; nothing else reads ``os.environ`` or
``st.secrets``. The secret key is a ``SecretStr`` and only ever leaves as :func:`mask_key`.

A value that is not allowed never reaches a caller as pydantic's ``ValidationError``:
:func:`load_settings` turns it into one :class:`ConfigurationError` line naming the variable
and what is allowed (each field says so in ``allowed(...)``), and :func:`check_startup`
refuses unsafe combinations (a live key without login, sent over http or to a host that is
not Paidy's). Both log that line (logger ``core.settings``).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, JsonValue, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.bilingual import BilingualError

log = logging.getLogger(__name__)

DEFAULT_DATABASE_URL = "sqlite:///data/paidy_ops.db"
DEFAULT_API_BASE = "https://api.paidy.com"
PAIDY_HOST = "api.paidy.com"


class Mode(StrEnum):
    DEMO = "demo"  # no key: the embedded sandbox with demo orders
    TEST = "test"  # sk_test_ key
    LIVE = "live"  # sk_live_ key


class AuthMode(StrEnum):
    NONE = "none"
    PASSWORD = "password"
    OIDC = "oidc"


def allowed(ja: str, en: str) -> dict[str, JsonValue]:
    """What a variable accepts, in the operators' two languages: shown when a value is refused
    (a field's ``json_schema_extra``)."""
    return {"allowed_ja": ja, "allowed_en": en}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        json_schema_extra=allowed("SQLAlchemy の URL", "a SQLAlchemy URL"),
    )
    paidy_secret_key: SecretStr | None = Field(
        None, json_schema_extra=allowed("sk_test_… または sk_live_…", "sk_test_… or sk_live_…")
    )
    # None: api.paidy.com, or the embedded sandbox in demo
    paidy_api_base: str | None = Field(
        None,
        json_schema_extra=allowed(
            "http:// または https:// で始まるURL(本番キーは https://api.paidy.com のみ)",
            "an http:// or https:// URL (a live key: https://api.paidy.com only)",
        ),
    )
    paidy_allow_custom_host: bool = Field(
        False,
        json_schema_extra=allowed("1 または 0(true / false)", "1 or 0 (true / false)"),
    )
    paidy_api_version: str = Field(
        "2018-04-10",
        min_length=1,
        json_schema_extra=allowed(
            "日付形式の版(例 2018-04-10)", "a version date such as 2018-04-10"
        ),
    )
    paidy_timeout_s: float = Field(
        30.0,
        gt=0,
        le=300,
        json_schema_extra=allowed(
            "0より大きく300以下の秒数", "a number of seconds above 0, at most 300"
        ),
    )
    paidy_concurrency: int = Field(
        4, ge=1, le=64, json_schema_extra=allowed("1〜64の整数", "a whole number from 1 to 64")
    )
    # None: "none" in demo, "password" otherwise
    auth_mode: AuthMode | None = Field(
        None,
        json_schema_extra=allowed("none, password, oidc のいずれか", "one of none, password, oidc"),
    )
    # oidc: comma-separated emails mapped to admin / operator
    auth_admin_emails: str = Field(
        "", json_schema_extra=allowed("カンマ区切りのメールアドレス", "comma-separated emails")
    )
    auth_operator_emails: str = Field(
        "", json_schema_extra=allowed("カンマ区切りのメールアドレス", "comma-separated emails")
    )
    session_timeout_min: int = Field(
        480,
        ge=1,
        le=10080,
        json_schema_extra=allowed(
            "1〜10080の整数(分)", "a whole number of minutes from 1 to 10080"
        ),
    )
    sandbox_db: str = Field(
        "data/sandbox.db", min_length=1, json_schema_extra=allowed("ファイルのパス", "a file path")
    )  # embedded demo sandbox state

    # PostgreSQL: Paidy calls in flight across every process sharing the database (None:
    # PAIDY_CONCURRENCY); see core/operations/slots.py
    paidy_cluster_concurrency: int | None = Field(
        None,
        ge=1,
        le=256,
        json_schema_extra=allowed(
            "1〜256の整数(未設定: PAIDY_CONCURRENCY)",
            "a whole number from 1 to 256 (unset: PAIDY_CONCURRENCY)",
        ),
    )
    # how long a lost write stays "unknown" before a read may conclude "not done" (None:
    # the request timeout + 30 s; see core.operations.verdict)
    paidy_settle_delay_s: float | None = Field(
        None,
        ge=0,
        le=3600,
        json_schema_extra=allowed(
            "0〜3600の秒数(未設定: タイムアウト+30秒)",
            "seconds from 0 to 3600 (unset: timeout + 30 s)",
        ),
    )
    log_file: str = Field(
        "data/paidy_ops.log",
        json_schema_extra=allowed(
            "ファイルのパス(空: ログファイルなし)", "a file path (empty: no log file)"
        ),
    )
    # --- メール通知 (mail): SMTP_URL holds the password, so it is a secret like the key.
    # Unset: demo mode sends to an embedded local SMTP server that keeps mail in
    # demo_mail_dir (a Maildir the app shows); test/live mode cannot send mail.
    smtp_url: SecretStr | None = None  # smtp://user:pass@host:587 or smtps://...:465
    mail_from: str = ""  # "ショップ名 <shop@example.jp>"; the display name is the shop name
    demo_mail_dir: str = "data/demo_mail"  # the embedded demo SMTP server's Maildir
    # unset: no webhook route; set: POST /webhooks/paidy/<token> (a secret, like the key)
    webhook_token: SecretStr | None = None
    # --- reports (帳票 / 納品書): the shop printed on every delivery slip -------------------
    shop_name: str = Field("カゴラボ デモショップ", max_length=100)
    shop_address: str = Field("〒150-0002 東京都渋谷区渋谷1-2-3 デモビル5F", max_length=300)
    shop_phone: str = Field("03-1234-5678", max_length=40)

    @field_validator(
        "paidy_secret_key",
        "paidy_api_base",
        "auth_mode",
        "webhook_token",
        "paidy_cluster_concurrency",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, v: object) -> object:
        return None if v is None or (isinstance(v, str) and not v.strip()) else v

    @field_validator("paidy_api_base")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.strip()
        try:
            parts = urlsplit(v)
            host = parts.hostname
        except ValueError:
            raise ValueError("not a URL") from None
        if parts.scheme not in ("http", "https") or not host:
            raise ValueError("only http:// or https:// URLs with a host")
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError("no user, password, query or fragment in the URL")
        return v

    @property
    def mode(self) -> Mode:
        key = self.secret_key()
        if not key:
            return Mode.DEMO
        return Mode.LIVE if key.startswith("sk_live_") else Mode.TEST

    def secret_key(self) -> str | None:
        return self.paidy_secret_key.get_secret_value().strip() if self.paidy_secret_key else None

    def webhook_secret(self) -> str | None:
        """The webhook URL's token (never shown; None: no webhook route)."""
        return self.webhook_token.get_secret_value().strip() if self.webhook_token else None

    @property
    def masked_key(self) -> str:
        return mask_key(self.secret_key())

    @property
    def api_base(self) -> str:
        return (self.paidy_api_base or DEFAULT_API_BASE).rstrip("/")

    @property
    def effective_auth_mode(self) -> AuthMode:
        if self.auth_mode is not None:
            return self.auth_mode
        return AuthMode.NONE if self.mode is Mode.DEMO else AuthMode.PASSWORD


def mask_key(key: str | None) -> str:
    """``sk_live_…abcd``: the prefix and the last four characters, never more."""
    if not key:
        return "-"
    for prefix in ("sk_live_", "sk_test_", "sk_"):
        if key.startswith(prefix):
            return f"{prefix}…{key[-4:]}" if len(key) > len(prefix) + 8 else f"{prefix}…"
    return "…" + key[-4:] if len(key) > 12 else "…"


class ConfigurationError(BilingualError):
    """The configuration is invalid or unsafe: one line naming the variable and what is
    allowed. The CLI exits 2 with it; the app shows it instead of starting."""


#: values never repeated in a message (they may hold credentials)
_QUIET = ("key", "token", "secret", "password", "url")


def _env_name(field: str) -> str:
    return field.upper()


def _refusal(exc: ValidationError) -> ConfigurationError:
    """pydantic's errors as one line: ``PAIDY_TIMEOUT_S='abc' is not allowed: ...``."""
    ja_parts, en_parts = [], []
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else ""
        info = Settings.model_fields.get(field)
        extra = info.json_schema_extra if info is not None else None
        if not isinstance(extra, dict):  # every field here declares allowed(...), a dict
            extra = {}
        en_allowed = extra.get("allowed_en") or err.get("msg", "")
        ja_allowed = extra.get("allowed_ja") or en_allowed
        value = err.get("input")
        shown = ""
        quiet = any(q in field for q in _QUIET) or "@" in str(value)
        if isinstance(value, str | int | float) and not quiet:
            text = str(value)
            shown = "=" + repr(text[:40] + ("…" if len(text) > 40 else ""))
        name = _env_name(field) if field else "?"
        ja_parts.append(f"{name}{shown} は使えません。指定できる値: {ja_allowed}")
        en_parts.append(f"{name}{shown} is not allowed; allowed: {en_allowed}")
    return ConfigurationError(" / ".join(ja_parts), "; ".join(en_parts))


def check_startup(settings: Settings) -> None:
    """Refuse configurations that would expose live money: a live key with no login, or a
    live key sent over plain http or to a host other than Paidy's (unless
    PAIDY_ALLOW_CUSTOM_HOST=1 names a trusted proxy)."""
    if settings.mode is not Mode.LIVE:
        return
    if settings.effective_auth_mode is AuthMode.NONE:
        raise ConfigurationError(
            "本番キー(sk_live_)使用時は AUTH_MODE=none では起動できません。AUTH_MODE=password または oidc を設定してください。",
            "A live key (sk_live_) cannot be used with AUTH_MODE=none. Set AUTH_MODE=password or oidc.",
        )
    parts = urlsplit(settings.api_base)
    if parts.scheme != "https":
        raise ConfigurationError(
            "PAIDY_API_BASE: 本番キー(sk_live_)は https:// のURLにのみ送信できます(http は不可)。",
            "PAIDY_API_BASE: a live key (sk_live_) is only sent over https:// (not http).",
        )
    if parts.hostname != PAIDY_HOST and not settings.paidy_allow_custom_host:
        raise ConfigurationError(
            f"PAIDY_API_BASE: 本番キー(sk_live_)は {PAIDY_HOST} にのみ送信できます。別のホストを使う場合は PAIDY_ALLOW_CUSTOM_HOST=1 を設定してください。",
            f"PAIDY_API_BASE: a live key (sk_live_) is only sent to {PAIDY_HOST}; set PAIDY_ALLOW_CUSTOM_HOST=1 to allow another host.",
        )


def _log_refusal(exc: ConfigurationError) -> None:
    """The same line in the log (marked, so the CLI does not print it twice)."""
    log.error("configuration refused: %s", exc.en, extra={"shown_to_user": True})


def load_settings(**overrides: Any) -> Settings:
    """Read and check the configuration; a bad or unsafe value raises ConfigurationError."""
    try:
        settings = Settings(**overrides)
        check_startup(settings)
    except ValidationError as exc:
        refusal = _refusal(exc)
        _log_refusal(refusal)
        raise refusal from None
    except ConfigurationError as exc:
        _log_refusal(exc)
        raise
    return settings


def log_file_location() -> str:
    """Where this process logs (LOG_FILE), for the one line an operator sees on a failure."""
    try:
        return get_settings().log_file or "(no log file: LOG_FILE is empty)"
    except Exception:
        return Settings.model_fields["log_file"].default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()
