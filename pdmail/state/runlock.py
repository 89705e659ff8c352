"""One sending run at a time per state folder and campaign.

Two runs at once (cron and a librarian at the keyboard) could not send a message twice, since
the ledger's claim is atomic, but each would take the other's in-flight messages for ones a
crash left behind. An operating-system lock on a file in the state folder keeps them apart;
the system releases it when the process ends, so a crash leaves no stale lock.

Each campaign has its own lock file (``run.lock`` for the monthly update, as before, and
``run.<campaign>.lock`` for another), since a run takes only its own campaign's in-flight
messages for ones left behind: a survey's run never waits for the monthly update's.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO

from ..errors import BackendError

LOCK_FILE = "run.lock"
# The campaign whose lock is LOCK_FILE itself (every other campaign's names it).
_MAIN = "monthly-update"


def lock_file(campaign: str = _MAIN) -> str:
    """The name of ``campaign``'s lock file in the state folder."""
    return LOCK_FILE if campaign == _MAIN else f"run.{campaign}.lock"


# How long a run waits for another one on the same state folder before giving up (seconds).
DEFAULT_WAIT = 300.0
_POLL = 0.2


def _to_stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class RunLock:
    """Held for the length of a sending run.

    A second run on the same folder waits up to ``wait`` seconds for the first to finish,
    telling ``notify`` once (by default, a line on stderr) who it is waiting for; past that it
    raises :class:`~pdmail.errors.BackendError` naming the holder. ``wait=0`` fails at once.
    ``clock`` and ``sleep`` are for tests.
    """

    def __init__(
        self,
        folder: Path,
        *,
        wait: float = DEFAULT_WAIT,
        notify: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        campaign: str = _MAIN,
    ) -> None:
        self.path = folder / lock_file(campaign)
        self.wait = max(0.0, wait)
        self.notify = notify or _to_stderr
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        self._file: IO[str] | None = None

    @staticmethod
    def holder(folder: Path, campaign: str = _MAIN) -> str | None:
        """Who holds ``campaign``'s lock on ``folder`` right now ("pid N"), or None when
        nobody does.

        Takes and drops the lock to find out, so it never blocks.
        """
        path = folder / lock_file(campaign)
        try:
            f = path.open("a+", encoding="utf-8")
        except OSError:
            return None
        with f:
            try:
                _lock(f)
            except OSError:
                return _read_holder(f)
            _unlock(f)
        return None

    def __enter__(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise BackendError(f"{self.path}: cannot open the run lock ({exc})") from None
        start = self.clock()
        told = False
        while True:
            try:
                _lock(f)
                break
            except OSError:
                holder = _read_holder(f)
                waited = self.clock() - start
                # Waiting for a lock this very process holds would only wait out the clock.
                if waited >= self.wait or holder == f"pid {os.getpid()}":
                    f.close()
                    self.waited = waited
                    raise BackendError(
                        f"{self.path.parent}: another pdmail run is sending from this state "
                        f"folder ({holder})"
                        + (f"; waited {waited:.0f} s for it" if self.wait else ""),
                        hint="wait for it to finish and run again (mail.lock_wait sets how long "
                        "a run waits); nothing was sent by this run",
                    ) from None
                if not told:
                    self.notify(f"waiting for another pdmail run ({holder}) to finish …")
                    told = True
                self.sleep(min(_POLL, self.wait - waited))
        self.waited = self.clock() - start
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}\n")
        f.flush()
        self._file = f
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            _unlock(self._file)
            self._file.close()
            self._file = None


def _read_holder(f: IO[str]) -> str:
    try:
        f.seek(0)
        text = f.read().strip()
    except OSError:  # Windows forbids reading a locked region
        return "another process"
    # Older pdmail wrote "process N".
    return text.replace("process ", "pid ", 1) if text else "another process"


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(f: IO[str]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(f: IO[str]) -> None:
        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(f: IO[str]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(f: IO[str]) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
