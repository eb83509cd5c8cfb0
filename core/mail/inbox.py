"""What the embedded demo SMTP server kept (its Maildir), newest first, decoded for the app:
headers as text (encoded-words decoded), the plain-text body."""

from __future__ import annotations

import mailbox
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

_UNIQ = re.compile(r"^(\d+)\.M(\d+)")


@dataclass(frozen=True)
class KeptMail:
    key: str
    received_at: datetime | None
    sender: str
    to: str
    envelope_to: str
    subject: str
    message_id: str
    body: str


def read_inbox(
    mail_dir: str | Path, *, limit: int = 50, message_ids: set[str] | None = None
) -> list[KeptMail]:
    """The newest ``limit`` mails (only those whose Message-ID is in ``message_ids`` when
    given); an absent Maildir is an empty inbox."""
    path = Path(mail_dir)
    if not (path / "new").is_dir():
        return []
    box = mailbox.Maildir(path, create=False)
    keys = sorted(box.keys(), key=_order, reverse=True)
    out: list[KeptMail] = []
    for key in keys:
        try:
            mail = _read(box, key)
        except (KeyError, OSError):  # taken away meanwhile
            continue
        if message_ids is not None and mail.message_id not in message_ids:
            continue
        out.append(mail)
        if len(out) >= limit:
            break
    return out


def _order(key: str) -> tuple[int, int, str]:
    m = _UNIQ.match(key)
    return (int(m.group(1)), int(m.group(2)), key) if m else (0, 0, key)


def _read(box: mailbox.Maildir, key: str) -> KeptMail:
    msg = BytesParser(policy=policy.default).parsebytes(box.get_bytes(key))
    body_part = msg.get_body(preferencelist=("plain",))
    body = body_part.get_content() if body_part is not None else ""
    m = _UNIQ.match(key)
    received = datetime.fromtimestamp(int(m.group(1)), UTC) if m else None
    return KeptMail(
        key=key,
        received_at=received,
        sender=str(msg.get("From", "")),
        to=str(msg.get("To", "")),
        envelope_to=str(msg.get("X-RcptTo", "")),
        subject=str(msg.get("Subject", "")),
        message_id=str(msg.get("Message-ID", "")).strip(),
        body=body,
    )
