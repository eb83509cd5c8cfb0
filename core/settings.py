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
    # PostgreSQL: Paidy calls in flight across every process sharing the database (None:
    # PAIDY_CONCURRENCY); see core/operations/slots.py
    paidy_cluster_concurrency: int | None = Field(None, ge=1, le=256)
    auth_mode: AuthMode | None = None  # None: "none" in demo, required otherwise
    auth_admin_emails: str = ""  # oidc: comma-separated emails mapped to admin
    auth_operator_emails: str = ""  # oidc: comma-separated emails mapped to operator
    session_timeout_min: int = Field(480, ge=1)
    sandbox_db: str = "data/sandbox.db"  # embedded demo sandbox state

    @field_validator("paidy_secret_key", "paidy_cluster_concurrency", mode="before")
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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reload_settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()
