"""The one place configuration is read (environment variables, optionally a ``.env`` file).

Pages and the CLI call :func:`get_settings`; nothing else reads ``os.environ`` or
``st.secrets``. The secret key is a ``SecretStr`` and only ever leaves as :func:`mask_key`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.bilingual import BilingualError

DEFAULT_DATABASE_URL = "sqlite:///data/paidy_ops.db"
DEFAULT_API_BASE = "https://api.paidy.com"


class Mode(StrEnum):
    DEMO = "demo"  # no key: the embedded sandbox with demo orders
    TEST = "test"  # sk_test_ key
    LIVE = "live"  # sk_live_ key


class AuthMode(StrEnum):
    NONE = "none"
    PASSWORD = "password"
    OIDC = "oidc"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = DEFAULT_DATABASE_URL
    paidy_secret_key: SecretStr | None = None
    paidy_api_base: str | None = None  # None: api.paidy.com, or the embedded sandbox in demo
    paidy_api_version: str = "2018-04-10"
    paidy_timeout_s: float = Field(30.0, gt=0, le=300)
    paidy_concurrency: int = Field(4, ge=1, le=64)
    # how long a lost write stays "unknown" before a read may conclude "not done" (None:
    # the request timeout + 30 s; see core.operations.verdict)
    paidy_settle_delay_s: float | None = Field(None, ge=0, le=3600)
    log_file: str = "data/paidy_ops.log"  # "" = no log file
    auth_mode: AuthMode | None = None  # None: "none" in demo, required otherwise
    auth_admin_emails: str = ""  # oidc: comma-separated emails mapped to admin
    auth_operator_emails: str = ""  # oidc: comma-separated emails mapped to operator
    session_timeout_min: int = Field(480, ge=1)
    sandbox_db: str = "data/sandbox.db"  # embedded demo sandbox state
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

    @field_validator("paidy_secret_key", "webhook_token", mode="before")
    @classmethod
    def _blank_key_is_none(cls, v: object) -> object:
        return None if v is None or (isinstance(v, str) and not v.strip()) else v

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
    """The configuration is unsafe or inconsistent."""


def check_startup(settings: Settings) -> None:
    """Refuse configurations that would expose live money (a live key with no login)."""
    if settings.mode is Mode.LIVE and settings.effective_auth_mode is AuthMode.NONE:
        raise ConfigurationError(
            "本番キー(sk_live_)使用時は AUTH_MODE=none では起動できません。AUTH_MODE=password または oidc を設定してください。",
            "A live key (sk_live_) cannot be used with AUTH_MODE=none. Set AUTH_MODE=password or oidc.",
        )


def log_file_location() -> str:
    """Where this process logs (LOG_FILE), for the one line an operator sees on a failure."""
    try:
        return get_settings().log_file or "(no log file: LOG_FILE is empty)"
    except Exception:
        return Settings.model_fields["log_file"].default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()
