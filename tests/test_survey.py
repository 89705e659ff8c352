"""The PD preferences survey: checkbox answers read, preferences counted overall and by team,
the digest of bars, audiences, and the demo's rehearsal of it."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ANN, MARIA, RAJ, SAM, Project, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st
from test_campaigns import SURVEY_HEADER, with_survey, write_survey

from pdmail import cycles
from pdmail.campaigns.choices import Ticked, read_ticked
from pdmail.campaigns.layout import CHOICES
from pdmail.campaigns.survey import survey_results
from pdmail.cli.commands import main
from pdmail.config.campaigns import for_campaign
from pdmail.config.load import load_config
from pdmail.config.records import Audience, RosterColumns, SurveyQuestions
from pdmail.errors import ConfigError, InputError
from pdmail.models import Response, Table, Teacher
from pdmail.sources.audience import in_audience
from pdmail.sources.responses import Collection
from pdmail.sources.roster import parse_roster

FORMATS = CHOICES["formats"]
TIMES = CHOICES["times"]
WITH_COMMA = ("Small group", "Canva, Adobe Express", "Canva", "Online")

CELLS = [
    # (cell, choices, ticked, other words, the other box)
    ("", FORMATS, (), "", False),
    ("   ", FORMATS, (), "", False),
    ("One-on-one", FORMATS, ("One-on-one",), "", False),
    ("One-on-one, Small group", FORMATS, ("One-on-one", "Small group"), "", False),
    ("small group,online", FORMATS, ("Small group", "Online"), "", False),
    ("  SMALL   GROUP  ,  self-paced ", FORMATS, ("Small group", "Self-paced"), "", False),
    ("one on one", FORMATS, ("One-on-one",), "", False),
    ("Online;Self-paced;", FORMATS, ("Online", "Self-paced"), "", False),  # Microsoft Forms
    ("Online, online, ONLINE", FORMATS, ("Online",), "", False),
    ("Weekends, online", TIMES, ("Weekends, online",), "", False),
    ("Lunch, Weekends, online, After school", TIMES,
     ("Lunch", "Weekends, online", "After school"), "", False),
    ("Canva, Adobe Express, Canva", WITH_COMMA, ("Canva, Adobe Express", "Canva"), "", False),
    ("Canva, Online", WITH_COMMA, ("Canva", "Online"), "", False),
    ("Small group, a book club", FORMATS, ("Small group",), "a book club", True),
    ("Small group, Other: a book club, monthly", FORMATS, ("Small group",),
     "a book club, monthly", True),
    ("Other: online, in pairs", FORMATS, (), "online, in pairs", True),
    ("other - Zumba", FORMATS, (), "Zumba", True),
    ("Other", FORMATS, (), "", True),
    ("Zumba, Online, Yoga", FORMATS, ("Online",), "Zumba; Yoga", True),
    ("Team meeting; coffee chats", FORMATS, ("Team meeting",), "coffee chats", True),
    ("=HYPERLINK(\"x\"), Online", FORMATS, ("Online",), '=HYPERLINK("x")', True),
    ("resume writing, Café chats", ("Résumé writing", "Cafe chats"),
     ("Résumé writing", "Cafe chats"), "", False),
    ("Before school; early, Lunch", ("Before school; early", "Lunch"),
     ("Before school; early", "Lunch"), "", False),
    ("Online, self-paced", ("Online", "Online, self-paced"), ("Online, self-paced",), "", False),
]  # fmt: skip


@pytest.mark.parametrize(("cell", "choices", "ticked", "other", "has_other"), CELLS)
def test_a_checkbox_cell_is_read_against_the_questions_choices(
    cell: str, choices: tuple[str, ...], ticked: tuple[str, ...], other: str, has_other: bool
) -> None:
    assert read_ticked(cell, choices) == Ticked(ticked, other, has_other)


def test_a_blank_cell_is_blank() -> None:
    assert read_ticked("", FORMATS).blank
    assert not read_ticked("Other", FORMATS).blank


# -- the counts -------------------------------------------------------------------------------

QUESTIONS = SurveyQuestions(
    formats="Formats?",
    times="Times?",
    topics="Topics?",
    suggestion="Ideas?",
    choices={"formats": ("One-on-one", "Small group", "Online"),
             "times": ("Lunch", "After school"),
             "topics": ("AI tools", "Research")},
)  # fmt: skip
TEACHERS = {
    ANN: Teacher(ANN, "Ann", "Lee", "Grade 6"),
    RAJ: Teacher(RAJ, "Raj", "Patel", "Grade 6"),
    MARIA: Teacher(MARIA, "María", "Gómez", "Grade 7"),
    SAM: Teacher(SAM, "Sam", "Haddad", ""),
}
AT = datetime(2026, 12, 2, 9, 0)


def response(email: str, formats: str, times: str, topics: str, ideas: str = "") -> Response:
    answers = {" formats? ": formats, "TIMES?": times, "Topics?": topics, "Ideas?": ideas}
    return Response(email, AT, "", "", "", answers, "survey.csv", 2)


def collection(answered: list[Response], waiting: tuple[str, ...] = ()) -> Collection:
    config_cycle = cycles.Cycle("2026-12", date(2026, 12, 1), date(2026, 12, 9), (),
                                date(2026, 12, 11), AT, AT, True)  # fmt: skip
    return Collection(
        cycle=config_cycle,
        answered=tuple((TEACHERS[r.email], r) for r in answered),
        not_answered=tuple(TEACHERS[e] for e in waiting),
        superseded=(),
        strangers=(),
        outside=0,
        problems=(),
    )


def bars(q: object) -> dict[str, int]:
    return {b.label: b.count for b in q.bars}  # type: ignore[attr-defined]


def test_preferences_are_counted_overall_and_by_team() -> None:
    answered = [
        response(ANN, "One-on-one, Small group", "Lunch", "AI tools", "A book club"),
        response(RAJ, "small group", "Lunch, After school", "AI tools, Research, Chess"),
        response(MARIA, "Online, Other: podcasts, maybe", "", "Research", "<b>More</b> time"),
    ]

    results = survey_results(collection(answered, waiting=(SAM,)), QUESTIONS)

    assert (results.cycle, results.asked, results.respondents) == ("2026-12", 4, 3)
    assert results.rate == 0.75
    formats, times, topics = results.questions
    assert list(bars(formats).items()) == [
        ("Small group", 2), ("One-on-one", 1), ("Online", 1), ("Other", 1)
    ]  # fmt: skip
    assert formats.others == ("podcasts, maybe",)
    assert formats.bars[0].share == pytest.approx(2 / 3)
    assert bars(times) == {"Lunch": 2, "After school": 1}
    assert times.answered == 2  # María skipped it
    assert bars(topics) == {"AI tools": 2, "Research": 2, "Other": 1}
    assert topics.others == ("Chess",)
    # By team, in the overall order, so teams compare at a glance.
    assert [(t.team, t.respondents) for t in results.teams] == [("Grade 6", 2), ("Grade 7", 1)]
    grade6, grade7 = results.teams
    assert list(bars(grade6.questions[0])) == ["Small group", "One-on-one", "Online", "Other"]
    assert bars(grade6.questions[0]) == {
        "Small group": 2, "One-on-one": 1, "Online": 0, "Other": 0
    }  # fmt: skip
    assert bars(grade7.questions[2]) == {"AI tools": 0, "Research": 1, "Other": 0}
    assert [(s.teacher, s.team, s.text) for s in results.suggestions] == [
        ("Ann Lee", "Grade 6", "A book club"),
        ("María Gómez", "Grade 7", "<b>More</b> time"),
    ]


def test_nobody_answered_gives_empty_bars() -> None:
    results = survey_results(collection([], waiting=(ANN, RAJ)), QUESTIONS)

    assert (results.asked, results.respondents, results.rate) == (2, 0, 0.0)
    assert all(b.count == 0 and b.share == 0.0 for q in results.questions for b in q.bars)
    assert results.teams == () and results.suggestions == ()


def test_a_missing_question_column_names_the_file_and_the_key() -> None:
    r = Response(ANN, AT, "", "", "", {"Formats?": "Online", "Topics?": ""}, "survey.csv", 2)

    with pytest.raises(InputError) as info:
        survey_results(collection([r]), QUESTIONS)

    assert "survey.csv" in info.value.message and "'Times?'" in info.value.message
    assert "form.columns.times" in (info.value.hint or "")


@pytest.mark.parametrize(("share", "bar"), [(0.0, ""), (1.0, "█" * 20), (0.5, "█" * 10),
                                            (1 / 3, "██████▋")])  # fmt: skip
def test_the_text_bar_is_as_long_as_the_share(share: float, bar: str) -> None:
    from pdmail.campaigns.survey import Bar

    assert Bar("x", round(share * 300), 300).text_bar == bar


# -- audiences ----------------------------------------------------------------------------------

ROSTER = Table(
    origin="roster.csv",
    header=("Email", "First Name", "Last Name", "Team", "Building", "Active"),
    rows=(
        (2, (ANN, "Ann", "Lee", "Grade 6", "Main", "yes")),
        (3, (RAJ, "Raj", "Patel", " grade 6 ", "Annex", "yes")),
        (4, (MARIA, "María", "Gómez", "Grade 7", "Main", "yes")),
        (5, (SAM, "Sam", "Haddad", "Related Arts", "", "yes")),
    ),
)


@pytest.mark.parametrize(
    ("include", "exclude", "kept"),
    [
        ((), (), [ANN, RAJ, MARIA, SAM]),
        ((("Team", ("Grade 6",)),), (), [ANN, RAJ]),
        ((("team", ("GRADE 6", "grade 7")),), (), [ANN, RAJ, MARIA]),
        ((("Team", ("Grade 6",)), ("Building", ("main",))), (), [ANN]),
        ((), (("Building", ("Annex",)),), [ANN, MARIA, SAM]),
        ((), (("Team", ("Related Arts",)), ("Building", ("Annex",))), [ANN, MARIA]),
        ((("Building", ("Main", "")),), (), [ANN, MARIA, SAM]),
    ],
)
def test_an_audience_narrows_the_roster_by_its_columns(
    include: tuple[tuple[str, tuple[str, ...]], ...],
    exclude: tuple[tuple[str, tuple[str, ...]], ...],
    kept: list[str],
) -> None:
    roster = parse_roster(ROSTER, RosterColumns())
    audience = Audience(include, exclude, key="campaigns.pd-survey.audience")

    narrowed = in_audience(roster, ROSTER, audience, Path("pdmail.yaml"))

    assert [t.email for t in narrowed.teachers] == kept
    assert narrowed.get(kept[0]) is not None


def test_an_audience_column_the_roster_lacks_is_named_with_the_roster_and_key() -> None:
    roster = parse_roster(ROSTER, RosterColumns())
    audience = Audience((("Buildng", ("Main",)),), key="campaigns.pd-survey.audience")

    with pytest.raises(ConfigError) as info:
        in_audience(roster, ROSTER, audience, Path("pdmail.yaml"))

    message = info.value.message
    assert "pdmail.yaml: campaigns.pd-survey.audience.include.Buildng" in message
    assert "roster.csv" in message and "Building" in message


def test_an_audience_that_takes_nobody_in_is_an_error_listing_the_values() -> None:
    roster = parse_roster(ROSTER, RosterColumns())
    audience = Audience((("Team", ("Grade 9",)),), key="campaigns.pd-survey.audience")

    with pytest.raises(ConfigError) as info:
        in_audience(roster, ROSTER, audience, Path("pdmail.yaml"))

    assert "Team is Grade 9" in info.value.message
    assert "Grade 7" in info.value.message


# -- the digest and the demo --------------------------------------------------------------------


def test_the_survey_digest_escapes_answers_and_never_writes_formulas(project: Project) -> None:
    with_survey(project)
    write_survey(project, [])
    assert run_cli(project, "send", "--campaign", "pd-survey", today="2026-12-01").exit_code == 0
    write_survey(
        project,
        [
            ["12/2/2026 9:00:00", ANN, "Small group, Online", "Lunch", "AI tools",
             "<script>alert(1)</script>"],
            ["12/2/2026 9:30:00", RAJ, "Small group", "Weekends, online", "",
             "=IMPORTXML(\"http://x\")"],
        ],
    )  # fmt: skip

    result = run_cli(project, "digest", "--campaign", "pd-survey", "--send", today="2026-12-11")
    again = run_cli(project, "digest", "--campaign", "pd-survey", "--send", today="2026-12-11")

    assert result.exit_code == 0, result.output
    assert again.exit_code == 0, again.output
    folder = project.folder / "digest" / "pd-survey" / "2026-12"
    html = (folder / "survey.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "width:100%" in html  # Small group: both who answered
    text = (folder / "survey.txt").read_text(encoding="utf-8")
    assert "2 of 4 teachers answered (50%)" in text
    assert "Small group   ████████████████████ 2 (100%)" in text
    with (project.folder / ".pdmail" / "pd-survey-results.csv").open(encoding="utf-8-sig") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert '\'=IMPORTXML("http://x")' in cells and '=IMPORTXML("http://x")' not in cells
    digests = list(project.outbox.rglob("digest-*.eml"))
    assert [p.parent.parent.name for p in digests] == ["pd-survey"]


def test_the_survey_digest_as_json(project: Project) -> None:
    with_survey(project)
    write_survey(project, [])
    run_cli(project, "send", "--campaign", "pd-survey", today="2026-12-01")
    write_survey(project, [["12/2/2026 9:00:00", MARIA, "Team meeting", "", "", "More"]])

    result = run_cli(project, "digest", "--campaign", "pd-survey", "--json", today="2026-12-11")

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["survey"]["respondents"] == 1
    assert data["survey"]["suggestions"][0]["text"] == "More"
    assert data["mail"] is None


def test_survey_results_for_a_campaign_that_is_not_a_survey_is_refused(project: Project) -> None:
    from pdmail.cycle.survey_digest import results_of

    with project.workspace(date(2026, 12, 11)) as ws, pytest.raises(ConfigError) as info:
        results_of(ws, cycles.cycle(ws.config, "2026-12"))

    assert "not a survey" in info.value.message


def test_the_demo_rehearses_the_survey(tmp_path: Path) -> None:
    folder = tmp_path / "demo"

    result = CliRunner().invoke(
        main, ["demo", str(folder), "--campaign", "pd-survey", "--today", "2027-03-10"]
    )

    assert result.exit_code == 0, result.output
    assert "2027-03 requests: 11 sent" in result.output
    assert "run again: 0 sent" in result.output
    html = folder / "digest" / "pd-survey" / "2027-03" / "survey.html"
    assert html.is_file()
    assert "&lt;b&gt;Music licensing&lt;/b&gt;" in html.read_text(encoding="utf-8")
    assert len(list((folder / "outbox" / "pd-survey").rglob("request-*.eml"))) == 11
    assert not list((folder / "outbox").glob("2027-03/*.eml"))  # the monthly update sent nothing
    config = for_campaign(load_config(folder / "pdmail.yaml"), "pd-survey")
    assert config.active_campaign.kind == "survey"
    assert SURVEY_HEADER[2] in (folder / "pd-survey-responses.csv").read_text(encoding="utf-8")


@given(data=st.data())
@settings(max_examples=300, deadline=None)
def test_any_ticked_subset_reads_back_whatever_the_order_and_case(data: st.DataObject) -> None:
    question = data.draw(st.sampled_from(sorted(CHOICES)))
    choices = CHOICES[question]
    ticked = data.draw(st.lists(st.sampled_from(choices), unique=True))
    shown = [
        data.draw(st.sampled_from([c, c.upper(), c.lower(), f"  {c} ", c.replace(" ", "  ")]))
        for c in ticked
    ]
    sep = data.draw(st.sampled_from([", ", ",", " , ", ";"]))
    other = data.draw(st.sampled_from(["", "a book club", "Other: coffee, and chats"]))
    cell = sep.join(shown + ([other] if other else []))

    got = read_ticked(cell, choices)

    assert set(got.choices) == set(ticked)
    assert got.has_other == bool(other)
    assert got.other == other.removeprefix("Other: ")
