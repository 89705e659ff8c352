"""The bad-input corpus: every case under tests/data/bad_input/cases is refused cleanly.

Each case is a folder of files laid over a known-good working folder (``_base`` plus pdmail's
own templates in ``templates/``) and a ``case.yaml`` that names the command to run and what
it must answer: the exit code and fragments of the message. Every case must also leave no
traceback and no "Internal error" behind, and change nothing: no message in the outbox, no
row in the ledger, every file in the folder as it was. tests/data/bad_input/README.md
explains the format.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import deep_merge

from pdmail.cli.commands import main
from pdmail.resources import builtin_templates
from pdmail.state.ledger import Ledger

CORPUS = Path(__file__).parent / "data" / "bad_input"
COMMANDS = ("send", "remind", "collect", "preview", "digest", "doctor", "run", "status")
# A day each command has something to do on (December 2026: send Tue 1, first reminder Mon 7,
# digest Fri 11).
TODAY = {"remind": "2026-12-07", "digest": "2026-12-11"}
CASE_KEYS = {"about", "command", "args", "today", "exit", "expect", "config", "remove", "env"}


@dataclass(frozen=True)
class Case:
    name: str
    folder: Path
    about: str
    command: str
    exit: int
    expect: tuple[str, ...]
    args: tuple[str, ...] = ()
    today: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    remove: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def load_case(folder: Path) -> Case:
    spec = yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))
    assert isinstance(spec, dict), f"{folder}/case.yaml: expected a mapping"
    unknown = set(spec) - CASE_KEYS
    assert not unknown, f"{folder}/case.yaml: unknown keys {sorted(unknown)}"
    assert spec["command"] in COMMANDS, f"{folder}/case.yaml: unknown command"
    expect = spec["expect"]
    return Case(
        name=folder.name,
        folder=folder,
        about=spec["about"],
        command=spec["command"],
        exit=int(spec["exit"]),
        expect=tuple([expect] if isinstance(expect, str) else expect),
        args=tuple(str(a) for a in spec.get("args") or ()),
        today=str(spec.get("today") or TODAY.get(spec["command"], "2026-12-01")),
        config=spec.get("config") or {},
        remove=tuple(spec.get("remove") or ()),
        env={str(k): str(v) for k, v in (spec.get("env") or {}).items()},
    )


CASES = [load_case(f) for f in sorted((CORPUS / "cases").iterdir()) if f.is_dir()]


def build_folder(case: Case, work: Path) -> None:
    """The base folder, then the case's config changes, removals and files on top."""
    shutil.copytree(CORPUS / "_base", work)
    shutil.copytree(builtin_templates(), work / "templates")
    if case.config:
        base = yaml.safe_load((work / "pdmail.yaml").read_text(encoding="utf-8"))
        merged = deep_merge(base, case.config)
        text = yaml.safe_dump(merged, allow_unicode=True, sort_keys=False)
        (work / "pdmail.yaml").write_text(text, encoding="utf-8")
    for name in case.remove:
        target = work / name
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    for source in sorted(case.folder.rglob("*")):
        if source.is_dir() or source.name == "case.yaml":
            continue
        target = work / source.relative_to(case.folder)
        # A case may put a folder where the base has a file (roster.csv/ as a folder).
        for parent in reversed(target.relative_to(work).parents):
            place = work / parent
            if place.is_file():
                place.unlink()
        if target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    for name in case.folder.rglob("*.keep"):
        # An empty folder is kept in git by a .keep file; the case wants the folder alone.
        (work / name.relative_to(case.folder)).unlink()


def snapshot(work: Path) -> dict[str, str]:
    """Every file in the folder (the state folder aside) with a digest of its bytes."""
    return {
        str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(work.rglob("*"))
        if p.is_file() and ".pdmail" not in p.relative_to(work).parts
    }


def ledger_rows(work: Path) -> int:
    path = work / ".pdmail" / "ledger.sqlite3"
    if not path.exists():
        return 0
    with Ledger(path) as ledger:
        # Messages, and the needs the digest keeps: neither may change on bad input.
        return len(ledger.entries("monthly-update")) + len(ledger.needs.all("monthly-update"))


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 100
    assert {c.command for c in CASES} >= {"send", "remind", "collect", "preview", "digest",
                                          "doctor"}  # fmt: skip
    prefixes = {c.name.split("-", 1)[0] for c in CASES}
    assert prefixes >= {"config", "roster", "responses", "template", "token", "encoding"}


@pytest.mark.parametrize("command", ["preview", "send", "collect", "doctor"])
def test_the_base_folder_works(tmp_path: Path, command: str) -> None:
    # Every case fails because of what it changes, not because the base is broken.
    work = tmp_path / "work"
    build_folder(Case("base", CORPUS / "_base", "", command, 0, ()), work)
    args = [command, "--config", str(work / "pdmail.yaml"), "--today", "2026-12-01"]
    if command == "send":
        args.append("--dry-run")
    if command == "doctor":
        args.append("--no-connect")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_refused_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: Case
) -> None:
    work = tmp_path / "work"
    build_folder(case, work)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(folder=work))
    before = snapshot(work)

    argv = [case.command, *case.args, "--config", str(work / "pdmail.yaml")]
    argv += ["--today", case.today]
    result = CliRunner().invoke(main, argv)
    output = result.output

    assert "Traceback" not in output and "Internal error" not in output, output
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pdmail raised {result.exception!r}\n{output}")
    assert result.exit_code == case.exit, f"{case.about}\n{output}"
    for fragment in case.expect:
        assert fragment.format(folder=work) in output, f"{case.about}: {fragment!r}\n{output}"
    assert not list((work / "outbox").rglob("*.eml")) if (work / "outbox").exists() else True
    assert ledger_rows(work) == 0
    assert snapshot(work) == before, "the command changed the folder"
