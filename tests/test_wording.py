"""What people read: counts with the right plural, times in the school's zone, whole names in
``status``, a rerun that says why it sent nothing, progress only on a terminal, and template
typos answered with "did you mean".

The ``project`` folder is December 2026 in Chicago: send Tue 1, reminders Mon 7 and Wed 9,
due Tue 8, digest Fri 11 (see conftest).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from conftest import ROSTER_HEADER, ROSTER_ROWS, Project, answer, run_cli

import pdmail.cli.common
from pdmail import wording
from pdmail.cli.commands import main
from pdmail.errors import TemplateError

CHICAGO = ZoneInfo("America/Chicago")


def invoke(project: Project, *args: str, today: str = "2026-12-01") -> Result:
    return run_cli(project, *args, today=today)


def teachers(n: int) -> list[list[str]]:
    """``n`` active teachers: t0@school.example.org, t1@..."""
    return [[f"t{i}@school.example.org", f"T{i}", "Lee", "Grade 6", "yes"] for i in range(n)]


# -- the shared helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "word", "many", "expected"),
    [
        (0, "message", None, "0 messages"),
        (1, "message", None, "1 message"),
        (2, "message", None, "2 messages"),
        (1, "reply", "replies", "1 reply"),
        (3, "reply", "replies", "3 replies"),
        (-1, "day", None, "-1 days"),
    ],
)
def test_count(n: int, word: str, many: str | None, expected: str) -> None:
    assert wording.count(n, word, many) == expected


@pytest.mark.parametrize(("n", "expected"), [(0, "have"), (1, "has"), (2, "have")])
def test_plural_picks_the_verb_too(n: int, expected: str) -> None:
    assert wording.plural(n, "has", "have") == expected


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 12, 2, 17, 0, 59, 123456, tzinfo=timezone.utc), "2026-12-02 11:00"),
        (datetime(2026, 12, 2, 9, 0, tzinfo=CHICAGO), "2026-12-02 09:00"),
        (datetime(2026, 12, 2, 9, 0), "2026-12-02 09:00"),  # naive: school time already
        # Across midnight: the day is the school's, not UTC's.
        (datetime(2026, 12, 3, 3, 30, tzinfo=timezone.utc), "2026-12-02 21:30"),
        (datetime(2026, 12, 2, 9, 0, tzinfo=timezone(timedelta(hours=-5))), "2026-12-02 08:00"),
    ],
)
def test_local_time_is_school_time_without_seconds_or_offset(
    moment: datetime, expected: str
) -> None:
    assert wording.local_time(moment, CHICAGO) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        ("short", 10, "short"),
        ("  spaced\n  out  ", 20, "spaced out"),
        ("Research skills and MLA citations", 20, "Research skills and…"),
        ("Supercalifragilistic", 8, "Superca…"),
        ("a, b, c, d, e, f, g", 9, "a, b, c…"),
    ],
)
def test_shorten_cuts_at_a_word(text: str, width: int, expected: str) -> None:
    assert wording.shorten(text, width) == expected
    assert len(wording.shorten(text, width)) <= max(width, len(text.split()[0]))


@pytest.mark.parametrize(
    ("text", "width"),
    [("Ann", 3), ("陳大文", 6), ("Zoë", 3), ("Zoe\u0308", 3), ("", 0), ("Ｔｅａｍ", 8)],
)
def test_text_width_counts_terminal_columns(text: str, width: int) -> None:
    assert wording.text_width(text) == width
    assert wording.text_width(wording.pad(text, 10)) == 10
    assert wording.pad(text, 10, ">").endswith(text)


@pytest.mark.parametrize(
    ("items", "expected"),
    [([], ""), (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")],
)
def test_series(items: list[str], expected: str) -> None:
    assert wording.series(items) == expected


# -- plurals in the commands ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "line"),
    [(1, "Sent 1 request for 2026-12."), (2, "Sent 2 requests for 2026-12.")],
)
def test_send_counts_requests(project: Project, n: int, line: str) -> None:
    project.write_roster(teachers(n))
    result = invoke(project, "send")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == line


@pytest.mark.parametrize(
    ("n", "line"),
    [
        (0, "Dry run: 0 requests would be sent; nothing was sent."),
        (1, "Dry run: 1 request would be sent; nothing was sent."),
        (2, "Dry run: 2 requests would be sent; nothing was sent."),
    ],
)
def test_dry_run_counts(project: Project, n: int, line: str) -> None:
    project.write_roster(teachers(2))
    only = [arg for i in range(n) for arg in ("--only", f"t{i}@school.example.org")]
    if n == 0:  # nobody left to ask: the one teacher asked about has answered
        project.write_responses([answer("t0@school.example.org", "12/1/2026 9:00:00")])
        only = ["--only", "t0@school.example.org"]
    result = invoke(project, "send", "--dry-run", *only)
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == line


@pytest.mark.parametrize(
    ("waiting", "line"),
    [(1, "Sent 1 reminder for 2026-12."), (2, "Sent 2 reminders for 2026-12.")],
)
def test_remind_counts_reminders(project: Project, waiting: int, line: str) -> None:
    project.write_roster(teachers(3))
    assert invoke(project, "send").exit_code == 0
    answered = [f"t{i}@school.example.org" for i in range(3 - waiting)]
    project.write_responses([answer(a, "12/2/2026 9:00:00") for a in answered])
    result = invoke(project, "remind", today="2026-12-07")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == line


@pytest.mark.parametrize(
    ("total", "line"),
    [(1, "2026-12: 1 of 1 teacher answered."), (2, "2026-12: 1 of 2 teachers answered.")],
)
def test_collect_counts_teachers(project: Project, total: int, line: str) -> None:
    project.write_roster(teachers(total))
    project.write_responses([answer("t0@school.example.org", "12/2/2026 9:00:00")])
    result = invoke(project, "collect", today="2026-12-03")
    assert result.stdout.splitlines()[0] == line


@pytest.mark.parametrize(
    ("n", "superseded", "outside"),
    [
        (1, "1 earlier submission was superseded", "1 submission belongs to other cycles."),
        (2, "2 earlier submissions were superseded", "2 submissions belong to other cycles."),
    ],
)
def test_collect_counts_submissions(
    project: Project, n: int, superseded: str, outside: str
) -> None:
    rows = [answer("ann@school.example.org", f"12/2/2026 {9 + i}:00:00") for i in range(n + 1)]
    rows += [answer("raj@school.example.org", f"11/{10 + i}/2026 9:00:00") for i in range(n)]
    project.write_responses(rows)
    out = invoke(project, "collect", today="2026-12-03").stdout
    assert superseded in out and outside in out
    assert "(s)" not in out


@pytest.mark.parametrize(
    ("n", "heading"),
    [
        (1, "1 answer from people not on the roster:"),
        (2, "2 answers from people not on the roster:"),
    ],
)
def test_status_counts_unmatched_answers(project: Project, n: int, heading: str) -> None:
    project.write_responses(
        [answer(f"zed{i}@elsewhere.example.com", "12/2/2026 9:00:00") for i in range(n)]
    )
    out = invoke(project, "status", today="2026-12-03").stdout
    assert heading in out


@pytest.mark.parametrize(
    ("reminders", "header"),
    [
        ([], "reminders none"),
        ([4], "reminder 2026-12-07"),
        ([4, 8], "reminders 2026-12-07 and 2026-12-09"),
    ],
)
def test_status_header_counts_reminder_days(
    project: Project, reminders: list[int], header: str
) -> None:
    project.write_config({"calendar": {"reminders_after_days": reminders}})
    out = invoke(project, "status", today="2026-12-03").stdout
    assert header in out.splitlines()[0]


@pytest.mark.parametrize("n", [0, 1, 2])
def test_needs_set_counts_needs(project: Project, n: int) -> None:
    project.write_responses(
        [
            answer("ann@school.example.org", "12/2/2026 9:00:00", help_text="MLA citations"),
            answer("raj@school.example.org", "12/2/2026 9:00:00", help_text="Moodle quizzes"),
        ]
    )
    assert invoke(project, "digest", today="2026-12-11").exit_code == 0
    listing = json.loads(run_cli(project, "needs", "list", "--json").stdout)
    ids = [need["id"] for need in listing["needs"]][:n]
    if n == 0:  # setting a need to the status it has changes none
        ids = [listing["needs"][0]["id"]]
        assert run_cli(project, "needs", "set", *ids, "--status", "open").exit_code == 0
        out = run_cli(project, "needs", "set", *ids, "--status", "open").stdout
    else:
        out = run_cli(project, "needs", "set", *ids, "--status", "done").stdout
    expected = {
        0: "No need changed (already open)",
        1: "1 need is now done",
        2: "2 needs are now done",
    }
    assert out.startswith(expected[n])


# -- status: names, whole teams, school time, who the unmatched answers are from --------------

LONG_TEAM = "Social Studies and Humanities Department"


def test_status_shows_names_whole_teams_and_school_time(project: Project) -> None:
    project.write_roster(
        [
            ["ann@school.example.org", "Ann", "Lee", LONG_TEAM, "yes"],
            ["chen@school.example.org", "陳", "大文", "Grade 6", "yes"],
            ["noname@school.example.org", "", "", "", "yes"],
        ],
        ROSTER_HEADER,
    )
    assert invoke(project, "send").exit_code == 0
    # 17:00 UTC is 11:00 in Chicago; the export wrote an explicit UTC time.
    project.write_responses([answer("ann@school.example.org", "2026-12-02T17:00:00.250Z")])
    result = invoke(project, "status", today="2026-12-03")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    rows = {line.split()[0]: line for line in lines if "@school.example.org" in line}
    assert LONG_TEAM in rows["Ann"]
    assert rows["Ann"].endswith("  2026-12-02 11:00")
    assert "+00:00" not in result.stdout and "T17" not in result.stdout
    assert "2026-12-02T" not in result.stdout
    assert rows["-"].split()[1] == "noname@school.example.org"  # no name: a dash, not the address


def test_status_columns_line_up(project: Project) -> None:
    project.write_roster(
        [
            ["ann@school.example.org", "Ann", "Lee", LONG_TEAM, "yes"],
            ["chen@school.example.org", "陳", "大文", "Grade 6", "yes"],
        ],
        ROSTER_HEADER,
    )
    out = invoke(project, "status", today="2026-12-03").stdout.splitlines()
    table = [line for line in out if line.startswith(("Name", "Ann", "陳"))]
    starts = [
        [wording.text_width(line[: line.index(word)]) for word in words]
        for line, words in zip(
            table,
            [
                ("Email", "Team", "Request"),
                ("ann@", "Social", "-  "),
                ("chen@", "Grade 6", "-  "),
            ],
            strict=True,
        )
    ]
    assert starts[0] == starts[1] == starts[2]


def test_status_lists_who_the_unmatched_answers_are_from(project: Project) -> None:
    project.write_responses(
        [
            answer("Ann Lee", "12/2/2026 9:05:00"),
            answer("zed@elsewhere.example.com", "2026-12-02T18:30:00Z"),
            answer("", "12/3/2026 7:00:00"),
            answer("ann@school.example.org", "12/3/2026 8:00:00"),
        ]
    )
    result = invoke(project, "status", today="2026-12-04")
    out = result.stdout
    unmatched = out.split("3 answers from people not on the roster:\n", 1)[1].splitlines()
    assert unmatched[0].startswith('  "Ann Lee", 2026-12-02 09:05 (')
    assert unmatched[0].endswith("responses.csv, row 2); probably Ann Lee <ann@school.example.org>")
    assert unmatched[1].startswith('  "zed@elsewhere.example.com", 2026-12-02 12:30 (')
    assert unmatched[2].startswith("  (no address given), 2026-12-03 07:00 (")

    data = json.loads(invoke(project, "status", "--json", today="2026-12-04").stdout)
    assert [(s["typed"], s["row"]) for s in data["strangers"]] == [
        ("Ann Lee", 2),
        ("zed@elsewhere.example.com", 3),
        ("", 4),
    ]
    assert data["strangers"][0]["submitted"] == "2026-12-02T09:05:00-06:00"


def test_a_pasted_paragraph_in_the_address_cell_is_shortened(project: Project) -> None:
    project.write_responses([answer("word " * 200, "12/2/2026 9:05:00")])
    out = invoke(project, "status", today="2026-12-04").stdout
    line = next(line for line in out.splitlines() if line.startswith('  "word'))
    typed = line.split('"')[1]
    assert len(typed) <= 60 and typed.endswith("word…")
    assert line.endswith("responses.csv, row 2)")


def test_status_attention_names_the_teacher_in_school_time(project: Project) -> None:
    from pdmail.models import MessageKey
    from pdmail.state.ledger import Ledger

    assert invoke(project, "send").exit_code == 0
    key = MessageKey("monthly-update", "2026-12", "raj@school.example.org", "request")
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        ledger.mark_unknown(
            key, "connection dropped", datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)
        )
    out = invoke(project, "status").stdout
    attention = out.split("Needs attention:", 1)[1]
    assert "Raj Patel <raj@school.example.org>, 2026-12-01 08:00" in attention


def test_the_status_tab_shows_school_time(project: Project) -> None:
    project.write_responses([answer("ann@school.example.org", "2026-12-02T17:00:00Z")])
    assert invoke(project, "run", today="2026-12-03").exit_code == 0
    text = (project.folder / ".pdmail" / "status.csv").read_text(encoding="utf-8")
    ann = next(line for line in text.splitlines() if line.startswith("ann@"))
    assert ann.split(",")[6] == "2026-12-02 11:00"
    raj = next(line for line in text.splitlines() if line.startswith("raj@"))
    assert raj.split(",")[7].startswith("2026-12-03 ")
    assert "+00:00" not in text and "-06:00" not in text and "T0" not in text


# -- a rerun that sends nothing says why ------------------------------------------------------


def test_a_second_send_says_everything_went_before(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    again = invoke(project, "send", today="2026-12-03")
    assert again.stdout == (
        "All 4 requests for 2026-12 were already sent on 2026-12-01; nothing to do.\n"
    )


def test_requests_sent_over_two_days_name_both(project: Project) -> None:
    assert invoke(project, "send", "--limit", "2").exit_code == 0
    assert invoke(project, "send", today="2026-12-02").exit_code == 0
    again = invoke(project, "send", today="2026-12-03")
    assert again.stdout == (
        "All 4 requests for 2026-12 were already sent between 2026-12-01 and 2026-12-02; "
        "nothing to do.\n"
    )


def test_one_teacher_already_sent_names_them(project: Project) -> None:
    assert invoke(project, "send", "--only", "raj@school.example.org").exit_code == 0
    again = invoke(project, "send", "--only", "raj@school.example.org")
    assert again.stdout == (
        "The request for 2026-12 to raj@school.example.org was already sent on 2026-12-01; "
        "nothing to do.\n"
    )


@pytest.mark.parametrize(
    ("answered", "only", "why"),
    [
        (4, [], "everyone has answered"),
        (1, ["ann@school.example.org"], "ann@school.example.org: already answered this cycle"),
    ],
)
def test_send_says_why_nobody_is_asked(
    project: Project, answered: int, only: list[str], why: str
) -> None:
    emails = ["ann", "raj", "maria", "sam"][:answered]
    project.write_responses(
        [answer(f"{e}@school.example.org", "12/1/2026 8:00:00") for e in emails]
    )
    args = [arg for e in only for arg in ("--only", e)]
    result = invoke(project, "send", *args)
    assert result.exit_code == 0
    assert result.stdout == f"No requests to send for 2026-12: {why}.\n"


def test_remind_says_why_nothing_went(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    early = invoke(project, "remind", today="2026-12-03")
    assert early.stdout == (
        "No reminders to send for 2026-12: no reminder is due before 2026-12-07.\n"
    )
    project.write_responses(
        [
            answer(f"{e}@school.example.org", "12/2/2026 9:00:00")
            for e in ("ann", "raj", "maria", "sam")
        ]
    )
    everyone = invoke(project, "remind", today="2026-12-07")
    assert everyone.stdout == "No reminders to send for 2026-12: everyone has answered.\n"


def test_remind_twice_says_the_reminder_went(project: Project) -> None:
    assert invoke(project, "send").exit_code == 0
    project.write_responses([answer("zed@elsewhere.example.com", "12/2/2026 9:00:00")])
    assert invoke(project, "remind", today="2026-12-07").exit_code == 0
    again = invoke(project, "remind", today="2026-12-08")
    assert again.stdout == (
        "No reminders to send for 2026-12: already sent reminder 1 (4 teachers).\n"
    )


def test_run_twice_says_why_each_step_sent_nothing(project: Project) -> None:
    assert invoke(project, "run").exit_code == 0
    again = invoke(project, "run")
    assert again.exit_code == 0
    assert "All 4 requests for 2026-12 were already sent on 2026-12-01; nothing to do." in (
        again.stdout
    )
    assert "Sent 0" not in again.stdout


# -- progress only on a terminal --------------------------------------------------------------


def test_no_progress_in_a_pipe_or_a_cron_log(project: Project) -> None:
    result = invoke(project, "send")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_progress_on_a_terminal_but_never_with_json(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdmail.cli.common, "_is_terminal", lambda stream: True)
    shown = invoke(project, "send", "--limit", "1")
    assert "Sending" in shown.stderr
    quiet = invoke(project, "send", "--json")
    assert quiet.stderr == ""
    json.loads(quiet.stdout)


@pytest.mark.parametrize("stream", [None, object()])
def test_a_stream_without_isatty_is_no_terminal(stream: object) -> None:
    assert pdmail.cli.common._is_terminal(stream) is False


# -- template typos get "did you mean" --------------------------------------------------------


def own_templates(project: Project, files: dict[str, str]) -> Path:
    folder = project.folder / "my-templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    project.write_config({"templates": "my-templates"})
    return folder


@pytest.mark.parametrize(
    ("name", "text", "line", "expected"),
    [
        ("request.txt.j2", "Hi\n{{ teacher.frist_name }}\n", 2,
         "the roster has no field 'frist_name'; did you mean 'first_name'?"),
        ("request.txt.j2", "Answer by\n\n{{ cycle.due_txt }}\n", 3,
         "cycle has no 'due_txt'; did you mean 'due_text'?"),
        ("request.txt.j2", "{{ scool }} Library\n", 1,
         "'scool' is undefined; did you mean 'school'?"),
        ("request.txt.j2", "{{ School }}\n", 1, "'School' is undefined; did you mean 'school'?"),
        ("request.txt.j2", "{{ librarian.mail }}\n", 1,
         "librarian has no 'mail'; did you mean 'email'?"),
        ("request.txt.j2", "{% set greeting = 'Hi' %}\n{{ greting }}\n", 2,
         "'greting' is undefined; did you mean 'greeting'?"),
        ("request.txt.j2", "{% for day in cycle.reminders %}{{ dya }}{% endfor %}\n", 1,
         "'dya' is undefined; did you mean 'day'?"),
        ("request.html.j2", "<p>{{ form_lnk }}</p>\n", 1,
         "'form_lnk' is undefined; did you mean 'form_link'?"),
        ("request.subject.j2", "{{ cycle.mnth }} update", 1,
         "cycle has no 'mnth'; did you mean 'month'?"),
        ("request.txt.j2", "{% if teacher.temm %}x{% endif %}\n", 1,
         "the roster has no field 'temm'; did you mean 'team'?"),
    ],
)  # fmt: skip
def test_a_template_typo_gets_did_you_mean(
    project: Project, name: str, text: str, line: int, expected: str
) -> None:
    folder = own_templates(project, {name: text})
    result = invoke(project, "send")
    assert result.exit_code == TemplateError.exit_code
    assert f"{folder / name}, line {line}: {expected}" in result.stderr
    assert not project.outbox.exists()


def test_a_typo_with_no_close_name_lists_the_names(project: Project) -> None:
    own_templates(project, {"request.txt.j2": "{{ zzzzzz }}\n"})
    result = invoke(project, "preview")
    assert result.exit_code == TemplateError.exit_code
    assert "'zzzzzz' is undefined (names: " in result.stderr
    assert "did you mean" not in result.stderr
    names = result.stderr.split("(names: ", 1)[1].split(")", 1)[0].split(", ")
    assert {"school", "teacher", "cycle", "form_link", "librarian"} <= set(names)
    assert "range" not in names  # Jinja's own globals are not the template's data


def test_a_typo_in_the_digest_template_gets_did_you_mean(project: Project) -> None:
    own_templates(project, {"digest.md.j2": "{{ digest.asekd }} asked\n"})
    result = invoke(project, "digest", today="2026-12-11")
    assert result.exit_code == TemplateError.exit_code
    assert "digest has no 'asekd'; did you mean 'asked'?" in result.stderr


def test_a_right_template_renders_as_before(project: Project) -> None:
    own_templates(
        project, {"request.txt.j2": "{{ teacher.first_name }}, by {{ cycle.due_text }}\n"}
    )
    result = invoke(project, "preview")
    assert result.exit_code == 0
    assert "Ann, by Tuesday, December 8" in result.stdout


# -- plurals in the digest, the doctor and the demo ------------------------------------------


def test_the_digest_of_a_one_teacher_school_says_teacher(project: Project) -> None:
    project.write_roster(teachers(1))
    assert invoke(project, "send").exit_code == 0
    project.write_responses([answer("t0@school.example.org", "12/2/2026 9:00:00")])
    result = invoke(project, "digest", today="2026-12-11")
    assert result.exit_code == 0
    md = (project.folder / "digest" / "2026-12" / "digest.md").read_text(encoding="utf-8")
    html = (project.folder / "digest" / "2026-12" / "digest.html").read_text(encoding="utf-8")
    assert "**Answered:** 1 of 1 teacher (100%)" in md
    assert "<strong>1 of 1</strong> teacher answered" in html
    assert "1 of 1 teachers" not in md + html


def test_doctor_counts_one_teacher(project: Project) -> None:
    from pdmail.doctor import diagnose

    project.write_roster(teachers(1))
    checks = diagnose(project.config_path, today=date(2026, 12, 1), connect=False)
    roster = next(c for c in checks if c.name == "roster")
    assert "1 teacher, 1 active" in roster.detail


# Nouns pdmail counts; after "1" each must be singular.
PLURAL_AFTER_ONE = re.compile(
    r"\b1 (requests|reminders|messages|answers|needs|teachers|submissions|digests|rows|days)\b"
)


def test_the_demo_never_says_1_with_a_plural(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", str(tmp_path / "d"), "--today", "2026-12-01"])
    assert result.exit_code == 0, result.output
    assert "(s)" not in result.output
    assert not PLURAL_AFTER_ONE.search(result.output)
    config = str(tmp_path / "d" / "pdmail.yaml")
    for args in (["status"], ["collect"], ["run"], ["send"], ["remind"], ["needs", "list"]):
        out = CliRunner().invoke(main, [*args, "--config", config]).output
        assert "(s)" not in out and not PLURAL_AFTER_ONE.search(out), (args, out)


def test_a_prefill_typo_gets_did_you_mean(project: Project) -> None:
    project.write_config({"form": {"prefill": {"frist_name": "entry.222"}}})
    result = invoke(project, "preview")
    assert result.exit_code != 0
    assert (
        "form.prefill.frist_name: the roster has no field 'frist_name'; did you mean "
        "'first_name'?" in result.stderr
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ann\nLee", "Ann Lee"),
        ("Ann\x1b[31mLee", "Ann [31mLee"),
        ("Ann\u202eeeL", "Ann eeL"),
        ("Ann\x00\x7f\x85Lee", "Ann Lee"),
        ("  Grade\t6  ", "Grade 6"),
        ("陳 大文", "陳 大文"),
    ],
)
def test_one_line_drops_what_would_move_the_terminal(text: str, expected: str) -> None:
    assert wording.one_line(text) == expected


def test_status_and_collect_print_no_control_characters(project: Project) -> None:
    project.write_roster(
        [
            ["ann@school.example.org", "Ann\x1b[2J", "Lee\u202e", "Grade\n6", "yes"],
            ["raj@school.example.org", "Raj", "Patel", "Grade 6", "yes"],
        ],
        ROSTER_HEADER,
    )
    assert invoke(project, "send").exit_code == 0
    project.write_responses(
        [
            answer("ann@school.example.org", "12/2/2026 9:00:00"),
            answer("Raj\x1b]0;owned\x07 Patel", "12/2/2026 9:30:00"),
        ]
    )
    for command in ("status", "collect"):
        out = invoke(project, command, today="2026-12-03").stdout
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", out), (command, out)
    status = invoke(project, "status", today="2026-12-03").stdout
    ann = next(line for line in status.splitlines() if "ann@" in line)
    assert "Grade 6" in ann and ann.startswith("Ann [2J Lee ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ school|uper }}\n", "No filter named 'uper'; did you mean 'upper'?"),
        ("{{ 0.5|percnt }}\n", "No filter named 'percnt'; did you mean 'percent'?"),
        ("{% if school is strng %}x{% endif %}\n", "did you mean 'string'?"),
        ("{% iff school %}x{% endif %}\n", "Encountered unknown tag 'iff'; did you mean 'if'?"),
    ],
)
def test_a_filter_test_or_tag_typo_gets_did_you_mean(
    project: Project, text: str, expected: str
) -> None:
    folder = own_templates(project, {"request.txt.j2": text})
    result = invoke(project, "preview")
    assert result.exit_code == TemplateError.exit_code
    assert f"{folder / 'request.txt.j2'}, line 1: " in result.stderr
    assert expected in result.stderr


def test_an_unclosed_block_keeps_jinjas_own_list_of_expected_tags(project: Project) -> None:
    own_templates(project, {"request.txt.j2": "{% for d in cycle.reminders %}{% endfro %}\n"})
    result = invoke(project, "preview")
    assert result.exit_code == TemplateError.exit_code
    assert "'endfor'" in result.stderr and "did you mean" not in result.stderr


@pytest.mark.parametrize(
    "hostile",
    [
        "\x1b]0;owned\x07Ann",  # sets the terminal's title
        "\x1b[2J\x1b[HAnn",  # clears the screen
        "Ann\x1b[8m",  # hides what follows
        "\u202eAnn",  # turns the line around
        "\x9b31mAnn",  # an 8-bit control sequence
    ],
)
def test_preview_never_prints_a_roster_value_s_control_sequences(
    project: Project, hostile: str
) -> None:
    rows = [list(r) for r in ROSTER_ROWS]
    rows[0][1] = hostile
    project.write_roster(rows)
    result = run_cli(project, "preview", "--html", today="2026-12-01")
    assert result.exit_code == 0, result.output
    assert "Ann" in result.output
    assert not any(ch in result.output for ch in "\x1b\x07\x9b\u202e")
