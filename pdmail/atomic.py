"""Replacing a file atomically: a reader sees the old file or the new one, never half of one.

Every file pdmail writes over (the outbox's ``.eml`` files, the CSV reports, the digest files,
the credential caches) goes through :func:`write_atomic`: the bytes go to a temporary file in
the same folder, are flushed to disk, and the temporary file is renamed over the target. A
failure at any step (a full disk, a writer that raises, a rename refused) removes the
temporary file and leaves the target as it was.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["loose_permissions", "write_atomic", "write_private"]


def write_atomic(
    target: Path,
    content: bytes | str | Callable[[IO[str]], object],
    *,
    encoding: str = "utf-8",
    mode: int | None = None,
    folder_mode: int = 0o777,
) -> None:
    """Replace ``target`` with ``content``: bytes, text (encoded with ``encoding``), or a
    function that writes text to a file it is given (a ``csv.writer``'s; no newline
    translation, as with ``open(newline="")``).

    The file is its owner's only (0600, as :func:`tempfile.mkstemp` makes it) unless ``mode``
    says otherwise; it never has other permissions, even for a moment. The folder is made
    when missing (with ``folder_mode``).

    Raises :class:`OSError` (or whatever the writing function raises) with the target as it
    was and no temporary file left behind.
    """
    if not isinstance(content, (bytes, str)):
        # Built before the file is made: a writer that fails leaves nothing to clean up.
        buffer = io.StringIO(newline="")
        content(buffer)
        content = buffer.getvalue()
    data = content.encode(encoding) if isinstance(content, str) else content
    target.parent.mkdir(parents=True, exist_ok=True, mode=folder_mode)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(out.fileno(), mode)
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600; the folder, when made,
    0700), replacing it atomically (see :func:`write_atomic`)."""
    write_atomic(path, text, mode=0o600, folder_mode=0o700)
    # An earlier pdmail wrote through a fixed temporary name, which a crash could leave
    # behind readable by all (a half-written token); it goes with the next write.
    path.with_name(f".{path.name}.tmp").unlink(missing_ok=True)


def loose_permissions(path: Path) -> str:
    """A sentence when ``path`` can be read by others than its owner, else ``""``: the check
    for a file :func:`write_private` should have written (any sign-in's saved token)."""
    if os.name != "posix":
        return ""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}"
    return ""
