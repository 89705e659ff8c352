"""Bad input never half-runs.

A broken roster, responses export, template or config stops ``pdmail send`` (and ``run``)
with ONE clear message that names the file, row and column (or the config key), a non-zero
exit, and nothing sent: no ``.eml`` in the outbox and no row in the ledger. A problem in a
single row is reported and that row skipped, never guessed, while everyone else is mailed.
And what teachers type never turns into a header, markup or a spreadsheet formula.
"""

from __future__ import annotations

import csv
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from conftest import ROSTER_HEADER, ROSTER_ROWS, Project, answer, ledger_entries, read_eml, run_cli

from pdmail.errors import ConfigError, InputError, TemplateError
from pdmail.resources import builtin_templates

CAMPAIGN = "monthly-update"
ACTIVE = sorted(row[0] for row in ROSTER_ROWS if row[4] != "no")  # the 4 active teachers


def invoke(project: Project, command: str, today: str = "2026-12-01") -> Result:
    return run_cli(project, command, today=today)


def assert_nothing_sent(project: Project) -> None:
    assert list(project.outbox.rglob("*.eml")) == []
    assert ledger_entries(project) == []


def own_templates(project: Project, name: str, text: str) -> Path:
    """Copy the default templates into <folder>/templates, replace ``name``, point the config
    at the copy."""
    folder = project.folder / "templates"
    shutil.copytree(builtin_templates(), folder)
    (folder / name).write_text(text, encoding="utf-8")
    project.write_config({"templates": "templates"})
    return folder / name


# -- the cases that stop the run ---------------------------------------------------------------


@dataclass(frozen=True)
class Fatal:
    id: str
    setup: Callable[[Project], None]
    expect: tuple[str, ...]  # all in the one error message; {folder} is the project folder
    exit_code: int


def _no_email_column(p: Project) -> None:
    p.write_roster(header=["E-mail", *ROSTER_HEADER[1:]])


def _duplicate_address(p: Project) -> None:
    p.write_roster([*ROSTER_ROWS, [" ANN@School.example.org ", "Annie", "Lee", "Grade 8", "yes"]])


def _corrupt_xlsx(p: Project) -> None:
    (p.folder / "roster.xlsx").write_bytes(b"PK\x03\x04 this is not really a workbook")
    p.write_config({"sources": {"roster": "roster.xlsx"}})


def _missing_roster(p: Project) -> None:
    (p.folder / "roster.csv").unlink()


def _empty_roster(p: Project) -> None:
    (p.folder / "roster.csv").write_bytes(b"")


def _missing_form_column(p: Project) -> None:
    header = ["Timestamp", "Email Address", "What units of study are coming up?",
              "How can the library help?"]  # fmt: skip
    p.write_responses([answer("ann@school.example.org", "12/1/2026 9:00:00")[:4]], header=header)


def _undefined_field(p: Project) -> None:
    # Fine for Ann and Raj, broken for María (the third teacher): nobody may get a message.
    own_templates(
        p,
        "request.txt.j2",
        "Hi {{ teacher.first_name }},\n"
        "{% if teacher.email.startswith('maria') %}{{ teacher.nickname }}{% endif %}\n"
        "{{ form_link }}\n",
    )


def _syntax_error(p: Project) -> None:
    own_templates(p, "request.html.j2", "<p>Hi {{ teacher.first_name }}</p>\n\n{% if %}\n")


def _config(extra: dict[str, Any]) -> Callable[[Project], None]:
    def setup(p: Project) -> None:
        p.write_config(extra)

    return setup


def _invalid_yaml(p: Project) -> None:
    p.config_path.write_text("school: Test School\ntimezone: [America/Chicago\n", encoding="utf-8")


def _missing_config(p: Project) -> None:
    p.config_path.unlink()


FATAL = [
    # roster
    Fatal("roster-no-email-column", _no_email_column,
          ("{folder}/roster.csv", "no column 'Email'", "roster.columns.email"), 3),
    Fatal("roster-duplicate-address", _duplicate_address,
          ("{folder}/roster.csv", "ann@school.example.org", "rows 2 and 7"), 3),
    Fatal("roster-corrupt-xlsx", _corrupt_xlsx,
          ("{folder}/roster.xlsx", "cannot read the workbook"), 3),
    Fatal("roster-missing", _missing_roster, ("{folder}/roster.csv", "no such file"), 3),
    Fatal("roster-empty", _empty_roster, ("{folder}/roster.csv", "empty"), 3),
    # responses
    Fatal("responses-missing-column", _missing_form_column,
          ("{folder}/responses.csv", "'Preferred format'", "form.columns.format"), 3),
    # templates
    Fatal("template-undefined-field", _undefined_field,
          ("{folder}/templates/request.txt.j2", "line 2", "the roster has no field 'nickname'"),
          4),
    Fatal("template-syntax-error", _syntax_error,
          ("{folder}/templates/request.html.j2", "line 3"), 4),
    # config
    Fatal("config-send-day", _config({"calendar": {"send_day": "first"}}),
          ("pdmail.yaml", "calendar.send_day", "'first'"), 2),
    Fatal("config-mail-kind", _config({"mail": {"kind": "fax"}}),
          ("pdmail.yaml", "mail.kind", "'fax'"), 2),
    Fatal("config-timezone", _config({"timezone": "Mars/Base"}),
          ("pdmail.yaml", "timezone", "'Mars/Base'"), 2),
    Fatal("config-librarian-email", _config({"librarian": {"email": "nope"}}),
          ("pdmail.yaml", "librarian.email", "'nope'"), 2),
    Fatal("config-unknown-key", _config({"calender": {"send_day": 2}}),
          ("pdmail.yaml", "calender", "is not a known key", "did you mean 'calendar'"), 2),
    Fatal("config-invalid-yaml", _invalid_yaml,
          ("{folder}/pdmail.yaml", "line 2", "'[' opened here is never closed", "column 11"),
          2),
    Fatal("config-missing", _missing_config,
          ("{folder}/pdmail.yaml", "no such config file", "pdmail init"), 2),
    Fatal("config-prefill-entry", _config({"form": {"prefill": {"email": "111"}}}),
          ("pdmail.yaml", "form.prefill.email", "'111'", "entry."), 2),
    Fatal("config-prefill-field", _config({"form": {"prefill": {"nickname": "entry.444"}}}),
          ("form.prefill.nickname", "the roster has no field 'nickname'"), 2),
]  # fmt: skip


@pytest.mark.parametrize("command", ["send", "run"])
@pytest.mark.parametrize("case", FATAL, ids=[c.id for c in FATAL])
def test_bad_input_stops_with_one_message_and_sends_nothing(
    project: Project, case: Fatal, command: str
) -> None:
    case.setup(project)
    result = invoke(project, command)

    assert result.exit_code == case.exit_code, result.output
    assert result.stdout.strip() == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    message = result.stderr  # the Error: line and its Hint: line
    for part in case.expect:
        assert part.format(folder=project.folder) in message
    assert_nothing_sent(project)


def test_exit_codes_match_the_error_classes() -> None:
    # The table above spells the codes out; they must stay what the error classes say.
    assert (ConfigError.exit_code, InputError.exit_code, TemplateError.exit_code) == (2, 3, 4)


# -- single-row problems: reported, skipped, the rest sent ---------------------------------------


@dataclass(frozen=True)
class RowCase:
    id: str
    setup: Callable[[Project], None]
    where: str  # "<file>, row N, column 'C'" as the report names it
    detail: str
    sent: tuple[str, ...]


def _invalid_address(p: Project) -> None:
    p.write_roster([*ROSTER_ROWS, ["ann.school.example.org", "Bad", "Address", "Grade 6", "yes"]])


def _unreadable_active(p: Project) -> None:
    p.write_roster([*ROSTER_ROWS, ["zoe@school.example.org", "Zoë", "Martin", "Grade 8", "maybe"]])


def _bad_timestamp(p: Project) -> None:
    p.write_responses(
        [
            answer("ann@school.example.org", "the 2nd, morning"),
            answer("raj@school.example.org", "12/1/2026 6:00:00"),
        ]
    )


ROWS = [
    RowCase("roster-invalid-address", _invalid_address, "roster.csv, row 7, column 'Email'",
            "'ann.school.example.org' is not a valid email address", tuple(ACTIVE)),
    RowCase("roster-unreadable-active", _unreadable_active, "roster.csv, row 7, column 'Active'",
            "'maybe' is not yes or no", tuple(ACTIVE)),
    # Ann's answer cannot be read, so she is still asked; Raj answered, so he is not.
    RowCase("responses-bad-timestamp", _bad_timestamp, "responses.csv, row 2, column 'Timestamp'",
            "cannot read 'the 2nd, morning'",
            tuple(a for a in ACTIVE if not a.startswith("raj"))),
]  # fmt: skip


@pytest.mark.parametrize("command", ["send", "run"])
@pytest.mark.parametrize("case", ROWS, ids=[c.id for c in ROWS])
def test_a_bad_row_is_reported_and_skipped(project: Project, case: RowCase, command: str) -> None:
    case.setup(project)
    result = invoke(project, command)

    assert result.exit_code == 0, result.output
    where = f"{project.folder}/{case.where}"
    reports = [line for line in result.stderr.splitlines() if where in line]
    assert len(reports) == 1, result.stderr
    assert case.detail in reports[0]
    assert "Error" not in result.stderr
    assert sorted(project.sent_to("request")) == sorted(case.sent)
    assert sorted(e.key.recipient for e in ledger_entries(project)) == sorted(case.sent)


def test_a_bad_row_is_reported_by_collect_too(project: Project) -> None:
    _bad_timestamp(project)
    result = invoke(project, "collect")
    assert result.exit_code == 0
    assert f"{project.folder}/responses.csv, row 2, column 'Timestamp'" in result.stderr
    assert "answered  Raj Patel" in result.stdout
    assert "waiting   Ann Lee" in result.stdout


# -- what teachers type stays text ---------------------------------------------------------------


def test_a_line_break_in_a_name_cannot_add_a_header(project: Project) -> None:
    rows = [list(r) for r in ROSTER_ROWS]
    rows[0][1] = "Ann\r\nBcc: victim@example.com"
    project.write_roster(rows)
    result = invoke(project, "send")
    assert result.exit_code == 0

    path = project.outbox / "2026-12" / "request-ann@school.example.org.eml"
    raw = path.read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"^bcc:", head, re.IGNORECASE | re.MULTILINE)
    msg = read_eml(path)
    assert msg.get_all("Bcc") is None and msg.get_all("Cc") is None
    (to,) = msg["To"].addresses
    assert to.addr_spec == "ann@school.example.org"
    assert "\r" not in to.display_name and "\n" not in to.display_name
    assert to.display_name == "Ann Bcc: victim@example.com Lee"
    for other in project.sent():
        recipients = [a.addr_spec for h in ("To", "Cc", "Bcc") for a in _addresses(other, h)]
        assert "victim@example.com" not in recipients


def _addresses(msg: EmailMessage, header: str) -> list[Address]:
    value = msg.get(header)
    return list(value.addresses) if value is not None else []


def test_answers_are_escaped_in_the_digest(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    script = "<script>alert(1)</script>"
    formula = '=HYPERLINK("http://x")'
    project.write_responses(
        [answer("ann@school.example.org", "12/2/2026 9:00:00", units=formula,
                help_text=f"{script} {formula}")]
    )  # fmt: skip
    result = invoke(project, "run", today="2026-12-11")
    assert result.exit_code == 0

    folder = project.folder / "digest" / "2026-12"
    html = (folder / "digest.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html
    assert "=HYPERLINK(&#34;http://x&#34;)" in html and formula not in html
    md = (folder / "digest.md").read_text(encoding="utf-8")
    assert "alert(1)" in md and "<script" not in md
    (mail,) = [m for m in project.sent() if "digest" in str(m["Subject"])]
    html_part = mail.get_body(("html",))
    assert html_part is not None
    assert "<script" not in html_part.get_content()


def test_csv_files_pdmail_writes_never_start_a_cell_with_a_formula(project: Project) -> None:
    rows = [list(r) for r in ROSTER_ROWS]
    rows[0][3] = "=1+2"  # Ann's team
    rows[1][1] = "@SUM(A1:A9)"  # Raj's first name: the Name cell starts with @
    rows[2][3] = "+cmd|' /C calc'!A0"
    rows[3][2] = "-2+3"  # Sam's last name: the Name cell is "Sam -2+3", the Team cell is not
    rows[3][3] = "-2+3"
    project.write_roster(rows)
    assert invoke(project, "run").exit_code == 0

    written = sorted((project.folder / ".pdmail").glob("*.csv"))
    assert [p.name for p in written] == ["status.csv"]
    cells = []
    for path in written:
        with path.open(encoding="utf-8-sig", newline="") as f:
            cells += [cell for row in csv.reader(f) for cell in row]
    assert "'=1+2" in cells
    assert "'@SUM(A1:A9) Patel" in cells
    assert "'+cmd|' /C calc'!A0" in cells
    assert "'-2+3" in cells
    # A lone "-" is the table's placeholder for "nothing yet": text, not a formula.
    risky = [c for c in cells if c != "-" and c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert risky == []


# -- nobody to write to --------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["send", "run", "preview", "remind", "doctor"])
@pytest.mark.parametrize(
    ("roster", "expect"),
    [
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(b"Email,First Name,Last Name,Team,Active\r\n", "header row but no teachers",
                     id="header-only"),
        pytest.param(b"Email,First Name\nann at school,Ann\n,Raj\n",
                     "none of the 2 rows is a usable teacher", id="every-row-invalid"),
        pytest.param(b"Email,Active\nann@school.example.org,no\nraj@school.example.org,left\n",
                     "none of the 2 teachers on the roster is active", id="nobody-active"),
    ],
)  # fmt: skip
def test_a_roster_with_nobody_to_write_to_is_an_error(
    project: Project, roster: bytes, expect: str, command: str
) -> None:
    (project.folder / "roster.csv").write_bytes(roster)
    # Reminders are due on the 7th; the other commands act on the send day.
    result = invoke(project, command, today="2026-12-07" if command == "remind" else "2026-12-01")
    assert result.exit_code == (1 if command == "doctor" else 3), result.output
    assert f"{project.folder / 'roster.csv'}: " in result.output
    assert expect in result.output
    assert "Sent 0" not in result.output
    assert_nothing_sent(project)


def test_a_roster_with_nobody_active_still_shows_the_cycle(project: Project) -> None:
    # Reading the month back (collect, status) is not writing to anyone: it still works.
    (project.folder / "roster.csv").write_bytes(b"Email,Active\nann@school.example.org,no\n")
    assert invoke(project, "collect").exit_code == 0
    assert invoke(project, "status").exit_code == 0
