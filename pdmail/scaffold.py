"""``pdmail init``: a working folder with a commented config, a sample roster and templates."""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import PdmailError, UsageError
from .resources import builtin_templates, example_config

SAMPLE_ROSTER = """\
Email,First Name,Last Name,Team,Subject,Building,Active
ann.lee@lincoln.example.org,Ann,Lee,Grade 6,English,Main,yes
raj.patel@lincoln.example.org,Raj,Patel,Grade 6,Science,Main,yes
maria.gomez@lincoln.example.org,María,Gómez,Grade 7,Social Studies,Main,yes
sam.haddad@lincoln.example.org,Sam,Haddad,Related Arts,Art,Annex,yes
"""


def scaffold(folder: Path, *, force: bool = False, roster: str = SAMPLE_ROSTER) -> list[Path]:
    """Write ``pdmail.yaml``, ``roster.csv`` and ``templates/`` into ``folder``.

    Refuses to overwrite an existing file unless ``force``; returns the files written.
    """
    templates = sorted(builtin_templates().glob("*.j2"))
    plan: list[tuple[Path, Path | str]] = [
        (folder / "pdmail.yaml", example_config()),
        (folder / "roster.csv", roster),
        *((folder / "templates" / t.name, t) for t in templates),
    ]
    existing = [str(target) for target, _ in plan if target.exists()]
    if existing and not force:
        raise UsageError(
            f"{folder}: would overwrite {', '.join(existing)}",
            hint="choose an empty folder, or pass --force to replace these files",
        )
    written = []
    try:
        (folder / "templates").mkdir(parents=True, exist_ok=True)
        for target, source in plan:
            if isinstance(source, Path):
                shutil.copyfile(source, target)
            else:
                target.write_text(source, encoding="utf-8")
            written.append(target)
    except OSError as exc:
        raise PdmailError(f"{folder}: cannot write ({exc.strerror or exc})") from None
    return written
