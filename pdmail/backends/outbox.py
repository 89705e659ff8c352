"""The outbox mailer: every message becomes an ``.eml`` file that any mail program opens.

The default footing: nothing leaves the machine, so a librarian can look at a whole month
before pointing pdmail at a real mail server.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar

from ..atomic import write_atomic
from ..errors import DeliveryError, PdmailError
from ..mail.wire import Sendable, WireMessage, handover_bytes, message_id_of
from ..models import SendResult
from .base import OK, BuiltinMailKind, Check, MailerBackend

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config.reader import Reader
    from ..config.records import Config
    from .base import Mailer

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]+")
_PDMAIL_ID = re.compile(r"^<pdmail\.(?P<campaign>[^.]+)\.(?P<cycle>[^.]+)\.(?P<kind>[^.]+)\.")
# The campaign whose files sit straight in the outbox's cycle folders, as they always have;
# every other campaign's go in a folder of its own, so that a survey's request to a teacher
# never replaces the monthly update's of the same month.
_MAIN_CAMPAIGN = "monthly-update"


class OutboxMailer:
    """Writes each message to ``folder/<cycle>/<kind>-<recipient>.eml`` atomically (another
    campaign than the monthly update's: ``folder/<campaign>/<cycle>/...``).

    The file appears complete or not at all (written aside, then renamed), so a message either
    was handed over or certainly was not.
    """

    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> OutboxMailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def path_for(self, message: Sendable) -> Path:
        """Where ``message`` is written: its cycle and kind come from pdmail's Message-ID."""
        m = _PDMAIL_ID.match(message_id_of(message))
        cycle, kind = (m.group("cycle"), m.group("kind")) if m else ("misc", "message")
        campaign = m.group("campaign") if m else _MAIN_CAMPAIGN
        folder = self.folder if campaign == _MAIN_CAMPAIGN else self.folder / campaign
        recipient = (
            message.envelope_to
            if isinstance(message, WireMessage)
            else str(message["To"].addresses[0].addr_spec)
        )
        to = _UNSAFE.sub("_", recipient)
        if to != recipient:
            # a'b@ and a_b@ are two teachers: their files must not be one.
            to += "-" + hashlib.sha256(recipient.encode()).hexdigest()[:8]
        return folder / _UNSAFE.sub("_", cycle) / f"{_UNSAFE.sub('_', kind)}-{to}.eml"

    def send(self, message: Sendable, *, thread_id: str | None = None) -> SendResult:
        target = self.path_for(message)
        data = (
            message.data
            if isinstance(message, WireMessage)
            else handover_bytes(message, f"outbox {self.folder}")
        )
        try:
            write_atomic(target, data)
        except OSError as exc:
            raise DeliveryError(
                f"outbox {self.folder}: cannot write {target.name} ({exc.strerror or exc})",
                definite=True,
                hint="check that the outbox folder (mail.outbox) is writable and the disk not full",
            ) from None
        mid = message_id_of(message)
        return SendResult(message_id=mid, thread_id=thread_id or mid, provider_id=str(target))


class OutboxBackend(MailerBackend):
    """``mail.kind: outbox`` (the default): ``.eml`` files in ``mail.outbox`` (default: the
    ``outbox`` folder next to the config). No limits, and nothing reaches anyone."""

    kind: ClassVar[BuiltinMailKind] = "outbox"
    keys = frozenset({"outbox"})
    delivers = False

    @classmethod
    def parse(cls, r: Reader, section: Mapping[str, Any], *, chosen: bool) -> dict[str, Any]:
        return {"outbox": r.folder(section, "outbox", "mail") or r.base / "outbox"}

    @classmethod
    def build(cls, config: Config) -> OutboxMailer:
        return OutboxMailer(config.mail.outbox)

    @classmethod
    def where_to_look(cls, message_id: str) -> str:
        return f"look in the outbox folder for the file with Message-ID {message_id}"

    @classmethod
    def doctor(cls, config: Config, *, connect: bool, new_mailer: Callable[[], Mailer]) -> Check:
        folder = config.mail.outbox
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise PdmailError(f"{folder}: cannot write ({exc.strerror})") from None
        return Check(
            "mail",
            OK,
            f"outbox folder {folder} (nothing reaches teachers until {_real_mail()})",
        )

    @classmethod
    def test_sent(cls, config: Config, result: SendResult, message_id: str) -> Check:
        return Check(
            "mail",
            OK,
            f"outbox: wrote a test message to {result.provider_id} (nothing reaches anyone "
            f"until {_real_mail()})",
        )


def _real_mail() -> str:
    """``mail.kind is smtp or gmail``: the mailers that reach people."""
    from .registry import delivering_kinds

    kinds = delivering_kinds()
    listed = " or ".join(kinds) if len(kinds) < 3 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
    return f"mail.kind is {listed}"
