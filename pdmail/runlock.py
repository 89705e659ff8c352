"""One sending run at a time per state folder.

Two runs at once (cron and a librarian at the keyboard) could not send a message twice, since
the ledger's claim is atomic, but each would take the other's in-flight messages for ones a
crash left behind. An operating-system lock on a file in the state folder keeps them apart;
the system releases it when the process ends, so a crash leaves no stale lock.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import IO

from .errors import BackendError

LOCK_FILE = "run.lock"


class RunLock:
    """Held for the length of a sending run; a second one fails at once with who holds it."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._file: IO[str] | None = None

    def __enter__(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = self.path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise BackendError(f"{self.path}: cannot open the run lock ({exc})") from None
        try:
            _lock(f)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise BackendError(
                f"{self.path.parent}: another pdmail run is sending from this state folder "
                f"({holder})",
                hint="wait for it to finish and run again; nothing was sent by this run",
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"process {os.getpid()}\n")
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
