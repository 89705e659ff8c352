"""``pdmail init``: a working folder with a commented config, a sample roster and templates."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import PdmailError, UsageError
from ..resources import builtin_templates, example_config

SAMPLE_ROSTER = """\
Email,First Name,Last Name,Team,Subject,Building,Active
ann.lee@lincoln.example.org,Ann,Lee,Grade 6,English,Main,yes
raj.patel@lincoln.example.org,Raj,Patel,Grade 6,Science,Main,yes
maria.gomez@lincoln.example.org,María,Gómez,Grade 7,Social Studies,Main,yes
sam.haddad@lincoln.example.org,Sam,Haddad,Related Arts,Art,Annex,yes
"""


def backup_name(target: Path, now: datetime) -> Path:
    """A free name beside ``target`` for a copy of it: ``roster.csv.bak-2026-11-29T170000``,
    then ``…-2``, ``…-3`` if that is taken, so an older backup is never overwritten."""
    stem = f"{target.name}.bak-{now:%Y-%m-%dT%H%M%S}"
    candidate = target.with_name(stem)
    n = 2
    while candidate.exists() or candidate.is_symlink():
        candidate = target.with_name(f"{stem}-{n}")
        n += 1
    return candidate


@dataclass(frozen=True)
class Scaffolded:
    """What ``scaffold`` did: the files it wrote, and the backup kept of each file it replaced
    (``(file, backup)``)."""

    written: tuple[Path, ...]
    backups: tuple[tuple[Path, Path], ...] = ()


def scaffold(
    folder: Path,
    *,
    force: bool = False,
    roster: str = SAMPLE_ROSTER,
    now: datetime | None = None,
) -> Scaffolded:
    """Write ``pdmail.yaml``, ``roster.csv`` and ``templates/`` into ``folder``.

    Refuses to overwrite an existing file unless ``force``. With ``force``, every existing file
    whose content differs from what would be written is first copied to a backup beside it
    (see :func:`backup_name`; ``now``, default the machine's local time, names it), so a roster,
    config or template the librarian edited is never lost; an identical file is left as it is.
    """
    templates = sorted(builtin_templates().glob("*.j2"))
    plan: list[tuple[Path, bytes]] = [
        (folder / "pdmail.yaml", example_config().read_bytes()),
        (folder / "roster.csv", roster.encode("utf-8")),
        *((folder / "templates" / t.name, t.read_bytes()) for t in templates),
    ]
    existing = [target for target, _ in plan if target.exists() or target.is_symlink()]
    if existing and not force:
        raise UsageError(
            f"{folder}: would overwrite {', '.join(str(t) for t in existing)}",
            hint="choose an empty folder, or pass --force to replace these files "
            "(each one you changed is kept as a .bak- copy beside it)",
        )
    for target in existing:
        if not target.is_file():
            raise UsageError(
                f"{target}: is not a regular file, so pdmail init will not replace it",
                hint="move it out of the way, then run pdmail init again",
            )
    stamp = now or datetime.now()
    written: list[Path] = []
    backups: list[tuple[Path, Path]] = []
    current = ""
    try:
        # Every backup is made before any file is replaced: a failure part-way leaves the
        # librarian's files as they were (or a backup of each one already replaced).
        for target, content in plan:
            current = str(target)
            if target in existing and target.read_bytes() != content:
                backup = backup_name(target, stamp)
                shutil.copy2(target, backup)
                backups.append((target, backup))
        current = str(folder / "templates")
        (folder / "templates").mkdir(parents=True, exist_ok=True)
        for target, content in plan:
            current = str(target)
            if target in existing and target.read_bytes() == content:
                continue
            if target.is_symlink():
                # Replace the link, never the file it points to (a shared roster, say).
                target.unlink()
            target.write_bytes(content)
            written.append(target)
    except OSError as exc:
        raise PdmailError(f"{current}: cannot write ({exc.strerror or exc})") from None
    return Scaffolded(tuple(written), tuple(backups))
