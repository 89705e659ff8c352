"""The README cannot drift from the code: its quick start is what CI runs, its script examples
run, and the commands and config keys it names are the ones that exist."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from pdmail.cli.commands import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
EXAMPLE_CONFIG = ROOT / "config.example.yaml"

QUICK_START = [
    "python -m pip install . && pdmail demo pdmail-demo",
    'python -m pip install ".[test]" && python -m pytest',
]

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")
# "pdmail <command>" in code: after a word boundary (so ".../bin/pdmail run" counts) and
# followed by spaces, not a line break ("import pdmail" is not a command).
_COMMAND = re.compile(r"\bpdmail[ \t]+([a-z][a-z-]*)")


def readme() -> str:
    return README.read_text(encoding="utf-8")


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section, up to the next level-2 heading."""
    m = re.search(rf"^## {re.escape(title)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"README.md has no '## {title}' section"
    return m.group(1)


def fenced(text: str) -> list[tuple[str, str]]:
    """Every fenced block in ``text`` as (info string, body)."""
    return [(m.group(1).strip(), m.group(2)) for m in _FENCE.finditer(text)]


def code_text(text: str) -> Iterator[str]:
    """The code in ``text``: fenced blocks, then inline spans outside them."""
    for _, body in fenced(text):
        yield body
    yield from _INLINE.findall(_FENCE.sub("", text))


def mentioned_commands(text: str) -> set[str]:
    return {m for code in code_text(text) for m in _COMMAND.findall(code)}


# -- (a) the quick start ----------------------------------------------------------------------


def test_quick_start_is_one_block_of_exactly_two_commands() -> None:
    blocks = fenced(section(readme(), "Quick start"))
    assert len(blocks) == 1, "the quick start must have exactly one code block"
    lines = blocks[0][1].splitlines()
    assert lines == QUICK_START


def test_ci_runs_the_quick_start_verbatim() -> None:
    if not CI_RUN.exists():
        pytest.skip(".ci/run does not exist yet; it must run the README quick start verbatim")
    script = CI_RUN.read_text(encoding="utf-8")
    for line in QUICK_START:
        assert line in script, f".ci/run does not run the quick start line: {line}"


# -- (b) the script examples run -------------------------------------------------------------


def script_examples() -> list[str]:
    blocks = fenced(section(readme(), "Using pdmail from a script"))
    assert blocks, "the script section has no example"
    assert all(info == "python" for info, _ in blocks), "every example there is ```python"
    return [body for _, body in blocks]


@pytest.fixture
def init_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder exactly as ``pdmail init`` leaves it, as the working directory."""
    monkeypatch.delenv("PDMAIL_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("number", range(len(script_examples())))
def test_script_example_runs_in_an_init_folder(
    number: int, init_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = script_examples()[number]
    exec(compile(code, f"README.md script example {number + 1}", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out.strip(), "the example printed nothing"
    assert not (init_folder / "outbox").exists(), "a README example sent mail"


def test_dry_run_example_lists_the_sample_roster(
    init_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(script_examples()[0], "README.md script example 1", "exec"), {})
    out = capsys.readouterr().out
    assert "2026-12: sent 2026-12-01, due 2026-12-08, digest 2026-12-11" in out
    assert "would send 4, already sent 0" in out


# -- (c) commands ----------------------------------------------------------------------------


def test_every_command_named_in_the_readme_exists() -> None:
    unknown = mentioned_commands(readme()) - set(main.list_commands(click.Context(main)))
    assert not unknown, f"README.md names commands that do not exist: {sorted(unknown)}"


def test_every_command_is_in_the_readme() -> None:
    missing = set(main.list_commands(click.Context(main))) - mentioned_commands(readme())
    assert not missing, f"README.md never shows these commands: {sorted(missing)}"


# -- (d) config keys -------------------------------------------------------------------------


def top_level_keys() -> list[str]:
    data = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return sorted(data)


@pytest.mark.parametrize("key", top_level_keys())
def test_every_top_level_config_key_is_in_the_readme(key: str) -> None:
    assert re.search(rf"`{re.escape(key)}(?![\w-])", readme()), (
        f"README.md does not mention the config key `{key}` (as code)"
    )
