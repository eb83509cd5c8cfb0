"""The MIME message: stdlib ``EmailMessage`` with the SMTP policy, never hand-built headers.

Japanese subject and display names leave as RFC 2047 encoded-words (UTF-8), the body as
UTF-8 text/plain in base64 (safe through any relay). Names are made one-line first
(``text.one_line``) and addresses checked (``text.check_address``), so customer text cannot
add a header or a recipient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from core.bilingual import BilingualError
from core.mail.templates import MailText
from core.mail.text import BadAddress, NoAddress, check_address, has_unsafe, one_line
from core.timeutil import to_jst


class MailConfigError(BilingualError):
    """MAIL_FROM / SMTP_URL missing or unusable: nothing is sent."""

    code = "mail_config"


@dataclass(frozen=True)
class Mailbox:
    """A display name and an address (both already clean)."""

    name: str
    address: str

    def header(self) -> Address:
        return Address(display_name=self.name, addr_spec=self.address)

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>" if self.name else self.address


def sender_from(mail_from: str) -> Mailbox:
    """``MAIL_FROM`` ("ショップ名 <shop@example.jp>" or "shop@example.jp") as the sender."""
    name, address = parseaddr(mail_from or "")
    try:
        if has_unsafe(mail_from):  # a line break or control character
            raise BadAddress(address=address)
        return Mailbox(one_line(name, 100), check_address(address))
    except (NoAddress, BadAddress):
        raise MailConfigError(
            f'送信元(MAIL_FROM)「{one_line(mail_from, 80)}」がメールアドレスとして正しくありません。例: MAIL_FROM="ショップ名 <shop@example.jp>"',
            f"MAIL_FROM '{one_line(mail_from, 80)}' is not a valid sender. Example: MAIL_FROM=\"Shop <shop@example.jp>\"",
        ) from None


def compose(text: MailText, *, sender: Mailbox, to: Mailbox, now: datetime) -> EmailMessage:
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender.header()
    msg["To"] = to.header()
    msg["Subject"] = one_line(text.subject, 300)
    msg["Date"] = format_datetime(to_jst(now))
    msg["Message-ID"] = make_msgid(domain=sender.address.rsplit("@", 1)[1])
    msg.set_content(text.body, subtype="plain", charset="utf-8", cte="base64")
    return msg
