"""The embedded local SMTP server of demo mode (aiosmtpd): listens on 127.0.0.1 on a free
port and keeps every mail it receives in a Maildir that the app shows (``inbox``). Nothing
leaves the machine. Tests use it as a real SMTP server too (``handler=`` to observe)."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

if TYPE_CHECKING:
    from core.mail.smtp import SmtpMailer

log = logging.getLogger(__name__)


class _Controller(Controller):
    """aiosmtpd's threaded controller on port 0: the kernel picks the port, which is read
    back from the bound socket before the controller's self-check connects to it."""

    def _trigger_server(self) -> None:
        if self.port == 0 and isinstance(self.server, asyncio.Server):
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class LocalSmtpServer:
    def __init__(self, handler, *, host: str = "127.0.0.1", **smtp_kwargs) -> None:
        self._controller = _Controller(handler, hostname=host, port=0, **smtp_kwargs)
        self.host = host

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> LocalSmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> LocalSmtpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _KeepingHandler(Mailbox):
    """aiosmtpd's Maildir handler; a failure to keep a mail is a 451 answer (the sender
    reports it) and one log line, never a traceback."""

    async def handle_DATA(self, server, session, envelope) -> str:
        try:
            self.handle_message(self.prepare_message(session, envelope))
        except Exception as exc:
            log.error("demo SMTP server could not keep a mail: %s", type(exc).__name__)
            return "451 Requested action aborted: the demo mailbox could not keep the mail"
        return "250 OK"


def maildir_server(mail_dir: str | Path) -> LocalSmtpServer:
    """A server that keeps what it receives in the Maildir ``mail_dir`` (created)."""
    path = Path(mail_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    box = _KeepingHandler(path)  # creates the Maildir (tmp/, new/, cur/)
    for sub in ("tmp", "new", "cur"):  # an existing empty folder is not made a Maildir
        (path / sub).mkdir(parents=True, exist_ok=True)
    return LocalSmtpServer(box)


class DemoMailer:
    """Demo mode's mailer: starts the embedded server on the first send (most processes
    never send a mail) and sends through it over SMTP like any real server."""

    demo = True

    def __init__(self, mail_dir: str | Path) -> None:
        self.mail_dir = Path(mail_dir)
        self._server: LocalSmtpServer | None = None
        self._smtp: SmtpMailer | None = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"demo (embedded SMTP, {self.mail_dir})"

    def _mailer(self) -> SmtpMailer:
        from core.mail.smtp import SmtpConfig, SmtpMailer

        with self._lock:
            if self._smtp is None:
                server = self._server or maildir_server(self.mail_dir).start()
                self._server = server
                self._smtp = SmtpMailer(SmtpConfig("smtp", server.host, server.port))
            return self._smtp

    def send(self, msg) -> None:
        self._mailer().send(msg)

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server, self._smtp = None, None
