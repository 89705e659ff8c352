"""SMTP servers on 127.0.0.1 that stop answering, for tests of a hung mail server.

* ``SlowSmtp``: a real aiosmtpd server whose handler can go silent at MAIL FROM (before any
  of the message went out) or at the end of DATA (after the whole message arrived), drop
  the connection at the end of DATA, or answer every MAIL FROM with ``mail_reply``.
  ``received`` holds the messages it accepted (and, for a silent or dropped DATA,
  ``swallowed`` the ones it got but never answered for).
* ``SilentSocket``: a TCP listener that accepts connections and never says a word, not even
  the greeting: a server hung before anything started.

Both are context managers; ``port`` is the port the OS picked.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"
# Longer than any client timeout a test uses, shorter than a test run.
SILENCE = 30.0


class _Handler:
    def __init__(self) -> None:
        self.hang_on_mail = False
        self.hang_on_data = False
        self.drop_on_data = False
        self.mail_reply = ""  # the reply to every MAIL FROM, when set
        self.mails = 0
        self.received: list[bytes] = []
        self.swallowed: list[bytes] = []

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        if self.hang_on_mail:
            await asyncio.sleep(SILENCE)
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = bytes(envelope.original_content or b"")
        if self.drop_on_data:
            self.swallowed.append(content)
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "250 never seen by the client"
        if self.hang_on_data:
            self.swallowed.append(content)
            await asyncio.sleep(SILENCE)
        self.received.append(content)
        return "250 2.0.0 Ok: queued"


class _Controller(Controller):
    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class SlowSmtp:
    """An aiosmtpd server that answers, or goes silent, as the test says."""

    def __init__(self) -> None:
        self.handler = _Handler()
        self._controller = _Controller(self.handler, hostname=HOST, port=0)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def received(self) -> list[bytes]:
        return list(self.handler.received)

    def __enter__(self) -> SlowSmtp:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Cancel the sleeping handlers first, so stopping does not wait them out.
        loop = self._controller.loop

        def cancel_all() -> None:
            for task in asyncio.all_tasks(loop):
                if task is not asyncio.current_task(loop):
                    task.cancel()

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(cancel_all)
        with contextlib.suppress(Exception):
            self._controller.stop()


class SilentSocket:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind((HOST, 0))
        self._sock.listen(8)
        self.port = int(self._sock.getsockname()[1])
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.accepted += 1
            self._conns.append(conn)

    def __enter__(self) -> SilentSocket:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._sock.close()
