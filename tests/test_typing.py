"""States and kinds are Literals: mypy (strict, as the project runs it) refuses a misspelt
outcome, need status or need kind, and the words stay plain strings for JSON and SQLite."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import get_args

import pytest

from pdmail.models import (
    KINDS,
    LEARNING,
    LESSON,
    OUTCOME_RESULTS,
    TASK,
    NeedKind,
    OutcomeResult,
    message_kind,
    reminder_kind,
    reminder_number,
)
from pdmail.state.needs import STATUSES, NeedStatus, need_status

SNIPPET = """
from pdmail.cycle.delivery import DeliveryReport, Outcome
from pdmail.digest.build import Need
from pdmail.state.needs import NeedEdit, NeedRecord

report = DeliveryReport("2026-12", "request", dry_run=False)
report.count("sent")
report.count("snet")  # line 7
Outcome("ann@school.example.org", "request", "would_send")  # line 8
NeedEdit("scheduled", "")
NeedEdit("sheduled", "")  # line 10
NeedRecord("a", "c", "2026-12", "e", "t", "team", "text", (), "f", status="finished")  # 11
Need("a", "2026-12", "e", "t", "team", "text", (), "f", kinds=("lesson", "lessons"))  # 12
Need("a", "2026-12", "e", "t", "team", "text", (), "f").topics_for("learnin")  # line 13
from pdmail.models import MessageKey, reminder_kind
MessageKey("monthly-update", "2026-12", "ann@school.example.org", "request")
MessageKey("monthly-update", "2026-12", "ann@school.example.org", "requets")  # line 16
MessageKey("monthly-update", "2026-12", "ann@school.example.org", "reminder-1")  # line 17
MessageKey("monthly-update", "2026-12", "ann@school.example.org", reminder_kind(1))
DeliveryReport("2026-12", "digets", dry_run=False)  # line 19
"""


@pytest.mark.slow
def test_mypy_refuses_a_misspelt_state_or_kind(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    script = tmp_path / "misspelt.py"
    script.write_text(textwrap.dedent(SNIPPET).lstrip("\n"), encoding="utf-8")
    config = Path(__file__).parent.parent / "pyproject.toml"
    out, _, status = api.run(
        ["--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), str(script)]
    )
    lines = {int(line.split(":")[1]) for line in out.splitlines() if line.startswith(str(script))}
    assert status == 1, out
    # A reminder's kind is made by reminder_kind(), never spelt by hand (line 17).
    assert lines == {7, 8, 10, 11, 12, 13, 16, 17, 19}, out


@pytest.mark.parametrize(
    ("alias", "words"),
    [
        (OutcomeResult, ("sent", "would-send", "already-sent", "failed", "unknown",
                         "skipped-unknown", "held")),
        (NeedStatus, ("open", "scheduled", "done")),
        (NeedKind, ("task", "learning", "lesson")),
    ],
)  # fmt: skip
def test_the_words_are_the_ones_written_to_json_and_the_ledger(
    alias: object, words: tuple[str, ...]
) -> None:
    assert get_args(alias) == words
    assert json.loads(json.dumps(list(get_args(alias)))) == list(words)


def test_the_tuples_follow_the_literals() -> None:
    assert get_args(OutcomeResult) == OUTCOME_RESULTS
    assert get_args(NeedStatus) == STATUSES
    assert KINDS == (TASK, LEARNING, LESSON) == get_args(NeedKind)


@pytest.mark.parametrize(
    ("text", "status"),
    [("open", "open"), (" Done ", "done"), ("SCHEDULED", "scheduled"), ("finished", None),
     ("", None), ("open-ish", None)],
)  # fmt: skip
def test_need_status_reads_a_cell_or_option(text: str, status: str | None) -> None:
    assert need_status(text) == status


@pytest.mark.parametrize(
    ("text", "kind", "number"),
    [("request", "request", 0), ("digest", "digest", 0), ("reminder-1", "reminder-1", 1),
     ("reminder-12", "reminder-12", 12)],
)  # fmt: skip
def test_a_message_kind_reads_back_as_the_word_the_ledger_holds(
    text: str, kind: str, number: int
) -> None:
    assert message_kind(text) == kind
    assert reminder_number(message_kind(text)) == number


@pytest.mark.parametrize(
    "text",
    ["", "Request", "requests", "reminder", "reminder-0", "reminder-01", "reminder-x", "test"],
)
def test_anything_else_is_not_a_message_kind(text: str) -> None:
    with pytest.raises(ValueError, match="not a message kind"):
        message_kind(text)
    with pytest.raises(ValueError):
        reminder_kind(0)
