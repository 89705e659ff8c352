"""``pdmail init``: a working folder, and ``--force`` never losing a file the librarian edited."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from pdmail.cli.commands import main
from pdmail.cli.scaffold import SAMPLE_ROSTER, backup_name, scaffold
from pdmail.errors import UsageError
from pdmail.resources import builtin_templates, example_config

NOW = datetime(2026, 11, 29, 17, 0, 0)
STAMP = "bak-2026-11-29T170000"


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def defaults() -> dict[str, bytes]:
    out = {
        "pdmail.yaml": example_config().read_bytes(),
        "roster.csv": SAMPLE_ROSTER.encode("utf-8"),
    }
    for t in builtin_templates().glob("*.j2"):
        out[f"templates/{t.name}"] = t.read_bytes()
    return out


def test_a_new_folder_gets_the_defaults_and_no_backup(tmp_path: Path) -> None:
    done = scaffold(tmp_path / "lib", now=NOW)
    assert files(tmp_path / "lib") == defaults()
    assert done.backups == ()
    assert len(done.written) == len(defaults())


@pytest.mark.parametrize(
    "edited",
    [
        pytest.param(["roster.csv"], id="roster"),
        pytest.param(["pdmail.yaml"], id="config"),
        pytest.param(["templates/request.txt.j2"], id="one template"),
        pytest.param(
            ["roster.csv", "pdmail.yaml", "templates/reminder.html.j2"], id="roster+config+template"
        ),
    ],
)
def test_force_keeps_a_backup_of_every_edited_file(tmp_path: Path, edited: list[str]) -> None:
    folder = tmp_path / "lib"
    scaffold(folder, now=NOW)
    mine = {name: f"edited {name}\nÀ la carte\n".encode() for name in edited}
    for name, content in mine.items():
        (folder / name).write_bytes(content)

    done = scaffold(folder, force=True, now=NOW)

    after = files(folder)
    expected = {**defaults(), **{f"{name}.{STAMP}": content for name, content in mine.items()}}
    assert after == expected
    assert sorted(str(b.relative_to(folder)) for _, b in done.backups) == sorted(
        f"{name}.{STAMP}" for name in edited
    )
    # Files that were already the defaults are neither backed up nor rewritten.
    assert sorted(str(p.relative_to(folder)) for p in done.written) == sorted(edited)


def test_a_second_force_never_overwrites_the_first_backup(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    scaffold(folder, now=NOW)
    roster = folder / "roster.csv"
    roster.write_text("Email\nfirst@school.example.org\n", encoding="utf-8")
    scaffold(folder, force=True, now=NOW)
    roster.write_text("Email\nsecond@school.example.org\n", encoding="utf-8")
    scaffold(folder, force=True, now=NOW)  # the same second: the name is taken
    roster.write_text("Email\nthird@school.example.org\n", encoding="utf-8")
    scaffold(folder, force=True, now=NOW)
    backups = {p.name: p.read_text(encoding="utf-8") for p in folder.glob("roster.csv.bak-*")}
    assert backups == {
        f"roster.csv.{STAMP}": "Email\nfirst@school.example.org\n",
        f"roster.csv.{STAMP}-2": "Email\nsecond@school.example.org\n",
        f"roster.csv.{STAMP}-3": "Email\nthird@school.example.org\n",
    }


@pytest.mark.parametrize("taken", [[""], ["", "-2"], ["-2"]])
def test_backup_name_skips_names_taken(tmp_path: Path, taken: list[str]) -> None:
    target = tmp_path / "roster.csv"
    for suffix in taken:
        (tmp_path / f"roster.csv.{STAMP}{suffix}").write_text("old", encoding="utf-8")
    name = backup_name(target, NOW).name
    assert name.startswith(f"roster.csv.{STAMP}")
    assert name.removeprefix(f"roster.csv.{STAMP}") not in taken


def test_without_force_nothing_changes(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    scaffold(folder, now=NOW)
    (folder / "roster.csv").write_text("mine\n", encoding="utf-8")
    before = files(folder)
    with pytest.raises(UsageError) as exc:
        scaffold(folder, now=NOW)
    assert str(folder / "roster.csv") in exc.value.message
    assert files(folder) == before


def test_a_folder_where_a_file_should_be_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    scaffold(folder, now=NOW)
    (folder / "roster.csv").unlink()
    (folder / "roster.csv").mkdir()
    (folder / "pdmail.yaml").write_text("school: Mine\n", encoding="utf-8")
    with pytest.raises(UsageError) as exc:
        scaffold(folder, force=True, now=NOW)
    assert "roster.csv" in exc.value.message
    assert (folder / "pdmail.yaml").read_text(encoding="utf-8") == "school: Mine\n"
    assert not list(folder.glob("*.bak-*"))


def test_init_force_on_the_command_line_names_the_backup(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    assert CliRunner().invoke(main, ["init", str(folder)]).exit_code == 0
    (folder / "roster.csv").write_text("Email\nann@school.example.org\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["init", str(folder), "--force"])
    assert result.exit_code == 0, result.output
    backups = list(folder.glob("roster.csv.bak-*"))
    assert len(backups) == 1
    assert backups[0].read_text(encoding="utf-8") == "Email\nann@school.example.org\n"
    assert f"kept your {folder / 'roster.csv'} as {backups[0]}" in result.output
    assert "bak-" in CliRunner().invoke(main, ["init", "--help"]).output


def test_force_replaces_a_link_but_never_the_file_it_points_to(tmp_path: Path) -> None:
    shared = tmp_path / "district-roster.csv"
    shared.write_text("Email\nann@school.example.org\n", encoding="utf-8")
    folder = tmp_path / "lib"
    scaffold(folder, now=NOW)
    (folder / "roster.csv").unlink()
    (folder / "roster.csv").symlink_to(shared)
    done = scaffold(folder, force=True, now=NOW)
    assert shared.read_text(encoding="utf-8") == "Email\nann@school.example.org\n"
    assert not (folder / "roster.csv").is_symlink()
    assert (folder / "roster.csv").read_text(encoding="utf-8") == SAMPLE_ROSTER
    assert [(o.name, b.name) for o, b in done.backups] == [("roster.csv", f"roster.csv.{STAMP}")]
    assert (folder / f"roster.csv.{STAMP}").read_text(encoding="utf-8") == shared.read_text(
        encoding="utf-8"
    )
