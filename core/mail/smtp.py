"""SMTP: ``SMTP_URL`` (``smtp://user:pass@host:587`` or ``smtps://user:pass@host:465``) and
the sending adapter.

``smtp://`` upgrades with STARTTLS whenever the server offers it; credentials are only
sent over TLS (or to a loopback address). ``smtps://`` is TLS from the first byte. The
password lives in a ``SecretStr``; it is never in a message, a log line or ``repr``: the
URL shows as ``smtp://user:****@host:587``."""

from __future__ import annotations

import ipaddress
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from pydantic import SecretStr

from core.bilingual import BilingualError
from core.mail.compose import MailConfigError
from core.mail.text import one_line

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
TIMEOUT_S = 20.0


class MailSendFailed(BilingualError):
    """The server could not be reached or refused the mail. ``unknown``: the connection was
    lost after the message was handed over, so it may have been delivered."""

    def __init__(self, ja: str, en: str, *, code: str = "smtp_failed", unknown: bool = False):
        super().__init__(ja, en)
        self.code, self.unknown = code, unknown


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str  # smtp | smtps
    host: str
    port: int
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)

    @property
    def masked(self) -> str:
        user = f"{self.username}:****@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    """Parse ``SMTP_URL``; a bad one is a ja/en error that never repeats the password."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = parts.hostname
    except ValueError:
        parts, port, host = None, None, None
    if parts is None or parts.scheme not in DEFAULT_PORTS or not host:
        raise MailConfigError(
            "SMTP_URL の形式が正しくありません。例: smtp://user:pass@mail.example.jp:587 または smtps://user:pass@mail.example.jp:465",
            "SMTP_URL is not valid. Example: smtp://user:pass@mail.example.jp:587 or smtps://user:pass@mail.example.jp:465",
        )
    user = unquote(parts.username) if parts.username else None
    password = SecretStr(unquote(parts.password)) if parts.password is not None else None
    return SmtpConfig(parts.scheme, host, port or DEFAULT_PORTS[parts.scheme], user, password)


class SmtpMailer:
    """Sends one ``EmailMessage`` per connection (a few mails a day: no pooling)."""

    demo = False

    def __init__(
        self,
        config: SmtpConfig,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        self.config = config
        self.ssl_context = ssl_context
        self.timeout_s = timeout_s

    def _context(self) -> ssl.SSLContext:
        """The TLS context, made when first needed (loading the system CAs takes ~0.1 s)."""
        if self.ssl_context is None:
            self.ssl_context = ssl.create_default_context()
        return self.ssl_context

    def describe(self) -> str:
        return self.config.masked

    def send(self, msg: EmailMessage) -> None:
        cfg = self.config
        where = f"{cfg.host}:{cfg.port}"
        stage = "connect"
        try:
            client: smtplib.SMTP
            if cfg.scheme == "smtps":
                client = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=self.timeout_s, context=self._context()
                )
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=self.timeout_s)
            with client:
                stage = "hello"
                client.ehlo()
                secure = cfg.scheme == "smtps"
                if not secure and client.has_extn("starttls"):
                    stage = "starttls"
                    client.starttls(context=self._context())
                    client.ehlo()
                    secure = True
                if cfg.username:
                    if not secure and not _loopback(cfg.host):
                        raise MailSendFailed(
                            f"メールサーバー({where})がSTARTTLSに対応していないため、パスワードを送信せず中止しました。",
                            f"The mail server ({where}) offers no STARTTLS; the password was not sent and nothing was mailed.",
                            code="smtp_no_tls",
                        )
                    stage = "login"
                    client.login(
                        cfg.username, cfg.password.get_secret_value() if cfg.password else ""
                    )
                stage = "send"
                client.send_message(msg)
        except MailSendFailed:
            raise
        except smtplib.SMTPAuthenticationError:
            raise MailSendFailed(
                f"メールサーバー({where})の認証に失敗しました。SMTP_URL のユーザー名とパスワードを確認してください。",
                f"The mail server ({where}) refused the login. Check the user and password in SMTP_URL.",
                code="smtp_auth",
            ) from None
        except smtplib.SMTPNotSupportedError:
            raise MailSendFailed(
                f"メールサーバー({where})がSMTP認証(AUTH)に対応していません。SMTP_URL を確認してください。メールは送信されていません。",
                f"The mail server ({where}) does not offer SMTP AUTH. Check SMTP_URL. Nothing was sent.",
                code="smtp_no_auth",
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()), (0, b""))[0]
            raise MailSendFailed(
                f"メールサーバーが宛先を受け付けませんでした(SMTP {code})。メールアドレスを確認してください。",
                f"The mail server refused the recipient (SMTP {code}). Check the address.",
                code="smtp_recipient",
            ) from None
        except smtplib.SMTPResponseException as exc:
            detail = one_line(_text(exc.smtp_error), 120)
            raise MailSendFailed(
                f"メールサーバーがエラーを返しました(SMTP {exc.smtp_code} {detail})。メールは送信されていません。",
                f"The mail server answered with an error (SMTP {exc.smtp_code} {detail}). Nothing was sent.",
                code="smtp_refused",
            ) from None
        except (ssl.SSLError, ssl.CertificateError):
            raise MailSendFailed(
                f"メールサーバー({where})との暗号化通信(TLS)を確立できませんでした(証明書を確認してください)。",
                f"Could not set up TLS with the mail server ({where}); check its certificate.",
                code="smtp_tls",
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            if stage == "send":  # the message may be on its way: do not claim it failed
                raise MailSendFailed(
                    "メールサーバーとの接続が送信中に切れました。届いたかどうか確認できません。受信状況を確認してから再送してください。",
                    "The connection to the mail server dropped while sending; the mail may or may not have arrived. Check before sending again.",
                    code="smtp_unknown",
                    unknown=True,
                ) from None
            reason = (
                "timeout" if isinstance(exc, socket.timeout | TimeoutError) else type(exc).__name__
            )
            raise MailSendFailed(
                f"メールサーバー({where})に接続できませんでした({reason})。メールは送信されていません。",
                f"Could not reach the mail server ({where}) ({reason}). Nothing was sent.",
                code="smtp_unreachable",
            ) from None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
