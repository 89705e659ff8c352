"""Learning from the librarian's corrections: kept in the ledger, read back from needs.csv and
``pdmail needs set``, and applied to the need itself and to similar answers later."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import test_google_month
from click.testing import Result
from conftest import (
    ANN,
    MARIA,
    RAJ,
    RESPONSE_HEADER,
    Project,
    answer,
    edit_needs_csv,
    need_of,
    needs_csv,
    run_cli,
)
from fakes.gmail_server import FakeGmail
from fakes.sheets_server import FakeSheets
from test_google_month import SID

from pdmail.config.records import Taxonomy, Topic
from pdmail.digest.corrections import SchoolReader, own_correction
from pdmail.digest.reading import kinds_of
from pdmail.digest.topics import Tagger
from pdmail.models import KINDS, NeedKind, Table
from pdmail.state.ledger import SCHEMA_VERSION, Ledger
from pdmail.state.needs import NeedEdit, NeedRecord, read_changes

CAMPAIGN = "monthly-update"
DAY = date(2026, 12, 14)
ACCOUNTS, READING, PRINTING, AI, INTEGRITY = (
    "Accounts and logins", "Reading", "Printing and copies", "AI tools", "Academic integrity",
)  # fmt: skip

# A small taxonomy of the test's own, so that what is learned is not what the built-in
# keywords already know.
TOPICS = (
    Topic(ACCOUNTS, ("login", "password", "account")),
    Topic(READING, ("reading", "novel", "books")),
    Topic(PRINTING, ("print", "copies", "field trip")),
    Topic(AI, ("AI", "ChatGPT", "MagicSchool")),
    Topic(INTEGRITY, ("cheating", "plagiarism", "Turnitin")),
)
TAXONOMY = {
    "use_defaults": False,
    "topics": [{"name": t.name, "keywords": list(t.keywords)} for t in TOPICS],
}


def tagger() -> Tagger:
    return Tagger.from_taxonomy(Taxonomy(use_defaults=False, topics=TOPICS))


def corrected(
    ident: str,
    text: str,
    topics: tuple[str, ...] | None = None,
    kinds: tuple[NeedKind, ...] | None = None,
    cycle: str = "2026-12",
) -> NeedRecord:
    """A need the librarian corrected (``topics``/``kinds`` None: that part untouched)."""
    read = tuple(n for n, _ in tagger().explain(text))
    return NeedRecord(
        ident, CAMPAIGN, cycle, f"{ident}@school.example.org", ident, "Grade 6", text,
        read if topics is None else topics, "small group",
        kinds=kinds_of(text) if kinds is None else kinds,
        corrected_topics=topics, corrected_kinds=kinds, corrected=DAY,
    )  # fmt: skip


def read(records: list[NeedRecord], text: str, corpus: tuple[str, ...] = ()) -> Any:
    t = tagger()
    school = SchoolReader(records, t, (text, *corpus))
    return school.read("new", text, t.explain(text), kinds_of(text))


google = test_google_month.google  # the Google footing: loopback Sheets and Gmail

LEXIA = corrected("abc123", "My kids can't get into Lexia again", (ACCOUNTS,))
TRIP = corrected("trip01", "Could you help us plan the Grade 7 field trip?", ())


# -- the school reader ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        # A learned name, in different words.
        ("Lexia isn't loading for my kids", (ACCOUNTS,)),
        ("lexia keeps crashing on the chromebooks", (ACCOUNTS,)),
        ("Can you reset my password for Lexia?", (ACCOUNTS,)),  # already there: once
        # The same request reworded.
        ("My kids can't get into Lexia", (ACCOUNTS,)),
        # Nothing in common with the correction: untouched.
        ("Could you pull novels about the ocean?", (READING,)),
        ("My kids can't get into the makerspace", ()),
        # The removed topic's words beside the same neighbours ...
        ("Can you help plan our field trip to the aquarium?", ()),
        # ... but not elsewhere.
        ("Need 60 copies of the field trip permission slip", (PRINTING,)),
    ],
)
def test_a_correction_reads_later_answers(text: str, topics: tuple[str, ...]) -> None:
    got = read([LEXIA, TRIP], text)
    assert (got.topics if got else tuple(n for n, _ in tagger().explain(text))) == topics


def test_the_evidence_says_which_words_and_which_correction() -> None:
    got = read([LEXIA], "Lexia isn't loading for my kids")
    assert got.evidence == (
        (ACCOUNTS, ("Lexia (learned from your correction of 2026-12 need abc123)",)),
    )
    assert got.learned == (
        "added 'Accounts and logins': Lexia (learned from your correction of 2026-12 need abc123)",
    )
    removed = read([TRIP], "Can you help plan our field trip to the aquarium?")
    assert removed.evidence == ()
    assert removed.learned == (
        "removed 'Printing and copies': field trip beside plan (as in your correction of "
        "2026-12 need trip01)",
    )


def test_a_similar_answer_takes_the_corrected_kind_and_a_dissimilar_one_does_not() -> None:
    text = "Could you run a ChatGPT session for my sixth graders before the essay?"
    wanted = next(k for k in KINDS if k not in kinds_of(text))
    example = corrected("kind01", text, kinds=(wanted,))
    similar = "Could you run a ChatGPT session for my sixth graders?"
    assert kinds_of(similar) != (wanted,)  # else the test proves nothing
    got = read([example], similar)
    assert got.kinds == (wanted,)
    assert got.topics == (AI,)
    assert any("like your correction of 2026-12 need kind01" in n for n in got.learned)
    assert read([example], "Could you pull novels about the ocean for my sixth graders?") is None


def test_the_need_itself_takes_its_correction_whatever_the_tagger_says() -> None:
    t = tagger()
    text = "Students keep pasting ChatGPT answers into their essays"
    record = corrected("own", text, (AI, INTEGRITY), kinds=("learning",))
    # pdmail's own reading of it does not change (the table keeps it beside the correction) ...
    assert SchoolReader([record], t).read("own", text, t.explain(text), kinds_of(text)) is None
    # ... the correction is laid over it.
    order = [x.name for x in TOPICS]
    got = own_correction(record, order, t.explain(text), kinds_of(text))
    assert got is not None
    assert (got.topics, got.kinds) == ((AI, INTEGRITY), ("learning",))
    assert dict(got.evidence)[INTEGRITY] == ("your correction on 2026-12-14",)
    assert dict(got.evidence)[AI] == ("ChatGPT",)  # the tagger's words, kept
    assert own_correction(PLAIN, order, t.explain(text), ("task",)) is None


def test_a_term_the_librarian_contradicted_is_not_learned() -> None:
    # Lexia was given Accounts once, and left without it in another corrected need.
    other = corrected("xyz789", "Could we get Lexia reports printed for conferences?", (PRINTING,))
    assert read([LEXIA, other], "Lexia isn't loading for my kids") is None


def test_removing_a_topic_for_the_same_words_twice_stops_them_everywhere() -> None:
    text = "Help me pick a novel for the field trip bus ride"
    assert PRINTING in tagger().tag(text)
    once = read([TRIP], text)
    assert once is None or PRINTING in once.topics  # other neighbours: still counted
    again = corrected("trip02", "Grade 6 field trip to the zoo is on the 12th", (READING,))
    twice = read([TRIP, again], text)
    assert twice is not None and PRINTING not in twice.topics and READING in twice.topics
    assert "removed it for these words in 2 needs" in twice.learned[0]


def test_no_corrections_no_change_and_fast() -> None:
    t = tagger()
    texts = [f"Student {i} needs a Lexia login and help with novel {i % 7}" for i in range(1000)]
    assert SchoolReader([], t, texts).read("x", texts[0], t.explain(texts[0]), ()) is None
    records = [
        corrected(f"n{i}", f"Teacher {i} wants Product{i} set up for period {i % 8}", (ACCOUNTS,))
        for i in range(200)
    ]
    for text in texts:  # the tagger's own work, not timed here
        t.explain(text)
    start = time.perf_counter()
    school = SchoolReader(records, t, texts)
    got = [school.read(f"a{i}", x, t.explain(x), ("task",)) for i, x in enumerate(texts)]
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"{elapsed:.2f} s for 1,000 answers against 200 corrections"
    assert got[0] is None
    hit = school.read("b", "Product17 is broken", t.explain("Product17 is broken"), ("task",))
    assert hit is not None and hit.topics == (ACCOUNTS,)


# -- the librarian's table --------------------------------------------------------------------

NAMES = [t.name for t in TOPICS]


def table(*rows: tuple[str, ...], header: tuple[str, ...] = ("Need id", "Status", "Topics",
          "Kinds")) -> Table:  # fmt: skip
    return Table("needs.csv", header, tuple((i + 2, r) for i, r in enumerate(rows)))


BASE = corrected("a1", "Can you print the reading logs?", kinds=("task",))
PLAIN = replace(BASE, corrected_topics=None, corrected_kinds=None, corrected=None)


@pytest.mark.parametrize(
    ("row", "edit"),
    [
        (("a1", "open", "Printing and copies; Reading", "task"), NeedEdit("open", "")),
        (("a1", "open", "reading;  printing AND copies", "Task"), NeedEdit("open", "")),
        (("a1", "done", "AI tools; Academic integrity", "task"),
         NeedEdit("done", "", (AI, INTEGRITY))),
        (("a1", "open", "AI tools, Academic integrity", "task"),  # commas between whole names
         NeedEdit("open", "", (AI, INTEGRITY))),
        (("a1", "open", "", "task"), NeedEdit("open", "", ())),  # no topic at all
        (("a1", "open", "Reading; Printing and copies", "learning; lesson"),
         NeedEdit("open", "", None, ("learning", "lesson"))),
        (("a1", "open", "Reading; Printing and copies", "lessons, task"),
         NeedEdit("open", "", None, ("task", "lesson"))),
    ],
)  # fmt: skip
def test_read_changes_finds_corrections(row: tuple[str, ...], edit: NeedEdit) -> None:
    assert read_changes(table(row), [PLAIN], NAMES) == ({"a1": edit}, [])


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (("a1", "done", "AI tool; Reading", "task"),
         "column 'Topics': 'AI tool' is not a topic; did you mean 'AI tools'?"),
        (("a1", "done", "Printing", "task"),
         "column 'Topics': 'Printing' is not a topic; did you mean 'Printing and copies'?"),
        (("a1", "done", "Chess", "task"),
         "column 'Topics': 'Chess' is not a topic"),
        (("a1", "done", "Reading", "learnign"),
         "column 'Kinds': 'learnign' is not a kind (task, learning or lesson); did you mean "
         "'learning'?"),
        (("a1", "done", "Reading", ""),
         "column 'Kinds': a need has at least one kind: task, learning or lesson"),
    ],
)  # fmt: skip
def test_a_bad_topic_or_kind_is_a_row_problem_and_the_row_is_left(
    row: tuple[str, ...], problem: str
) -> None:
    edits, problems = read_changes(table(row, ("b2", "done", "Reading", "task")), [PLAIN], NAMES)
    assert edits == {"b2": NeedEdit("done", "")}  # a1's status is not changed either
    assert [str(p) for p in problems] == [
        f"needs.csv, row 2, {problem} (the row was left as it was)"
    ]


def test_a_table_from_an_older_pdmail_reads_as_before() -> None:
    old = table(("a1", "done", "Reading; Printing and copies"), header=("Need id", "Status",
                                                                      "Topics"))  # fmt: skip
    assert read_changes(old, [PLAIN], NAMES) == ({"a1": NeedEdit("done", "")}, [])
    bare = table(("a1", "scheduled"), header=("Need id", "Status"))
    assert read_changes(bare, [PLAIN], NAMES) == ({"a1": NeedEdit("scheduled", "")}, [])


# -- the ledger -------------------------------------------------------------------------------

# The needs table as ledger schema 3 made it, before kinds and corrections.
OLD_NEEDS = """
CREATE TABLE needs (id TEXT PRIMARY KEY, campaign TEXT NOT NULL, cycle TEXT NOT NULL,
    email TEXT NOT NULL, teacher TEXT NOT NULL, team TEXT NOT NULL, text TEXT NOT NULL,
    topics TEXT NOT NULL, format TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'open',
    note TEXT NOT NULL DEFAULT '', first_seen TEXT NOT NULL, updated TEXT NOT NULL);
CREATE TABLE messages (campaign TEXT NOT NULL, cycle TEXT NOT NULL, recipient TEXT NOT NULL,
    kind TEXT NOT NULL, state TEXT NOT NULL, message_id TEXT NOT NULL,
    thread_id TEXT NOT NULL DEFAULT '', provider_id TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 1, created TEXT NOT NULL, updated TEXT NOT NULL,
    cause TEXT NOT NULL DEFAULT '', mailer TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (campaign, cycle, recipient, kind));
INSERT INTO needs VALUES ('old1', 'monthly-update', '2026-11', 'ann@school.example.org',
    'Ann Lee', 'Grade 6', 'Help with MagicSchool', 'AI tools', 'small group', 'scheduled',
    'Dec 3', '2026-11-12', '2026-11-12T10:00:00+00:00');
PRAGMA user_version = 3;
"""


def test_a_ledger_from_before_corrections_opens_and_learns(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_NEEDS)
    with Ledger(path) as ledger:
        [old] = ledger.needs.all(CAMPAIGN)
        assert (old.id, old.topics, old.status, old.note, old.kinds) == (
            "old1", (AI,), "scheduled", "Dec 3", ())  # fmt: skip
        assert not old.is_corrected and old.corrected is None
        changed = ledger.needs.apply({"old1": NeedEdit("open", "", (AI, INTEGRITY), None)}, DAY)
        assert changed == ["old1"]
    with Ledger(path) as again:  # on disk, and opening it again changes nothing
        [fixed] = again.needs.all(CAMPAIGN)
        assert (fixed.topics, fixed.corrected_topics, fixed.corrected, fixed.status) == (
            (AI, INTEGRITY), (AI, INTEGRITY), DAY, "open")  # fmt: skip
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 4


def test_a_correction_survives_pdmails_next_reading(tmp_path: Path) -> None:
    with Ledger(tmp_path / "ledger.sqlite3") as ledger:
        store = ledger.needs
        store.upsert([PLAIN], DAY)
        store.apply({"a1": NeedEdit("open", "", (AI,), ("learning",))}, DAY)
        # The next digest reads the text again and stores what it read: the correction holds.
        store.upsert([replace(PLAIN, text="Can you print the reading logs, please?")], DAY)
        [r] = store.all(CAMPAIGN)
        assert (r.topics, r.kinds, r.text) == (
            (AI,), ("learning",), "Can you print the reading logs, please?")  # fmt: skip
        # Correcting only the kinds later keeps the topics' correction.
        store.apply({"a1": NeedEdit("open", "", None, ("task",))}, date(2027, 1, 4))
        [r] = store.all(CAMPAIGN)
        assert (r.corrected_topics, r.corrected_kinds, r.corrected) == (
            (AI,), ("task",), date(2027, 1, 4))  # fmt: skip


# -- a school year on disk --------------------------------------------------------------------

nid = need_of


@pytest.fixture
def school(project: Project) -> Project:
    project.write_config({"taxonomy": TAXONOMY})
    return project


def invoke(project: Project, *args: str, today: str | None = None) -> Result:
    return run_cli(project, *args, today=today)


DECEMBER = [
    answer(ANN, "12/2/2026 9:00:00", help_text="My kids can't get into Lexia again"),
    answer(RAJ, "12/3/2026 9:00:00", help_text="Could you help us plan the Grade 7 field trip?"),
    answer(MARIA, "12/4/2026 9:00:00", help_text="Could you pull novels about the ocean?"),
]


def december(project: Project) -> None:
    assert invoke(project, "send", today="2026-12-01").exit_code == 0
    project.write_responses(DECEMBER)
    assert invoke(project, "digest", today="2026-12-11").exit_code == 0


def digest_json(project: Project, *args: str, today: str) -> dict[str, Any]:
    result = invoke(project, "digest", "--json", *args, today=today)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)["digest"]
    return data


def by_id(digest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in digest["needs"]}


def january(project: Project, *answers: list[str]) -> dict[str, Any]:
    assert invoke(project, "send", today="2027-01-05").exit_code == 0
    project.write_responses([*DECEMBER, *answers])
    return digest_json(project, "--cycle", "2027-01", today="2027-01-15")


def test_a_correction_in_needs_csv_is_kept_and_learned(school: Project) -> None:
    december(school)
    rows = needs_csv(school)
    assert (rows[nid(ANN)]["Topics"], rows[nid(ANN)]["Corrected"]) == ("", "")
    assert rows[nid(ANN)]["Kinds"]  # pdmail's reading of the kinds, for the librarian to fix
    edit_needs_csv(school, {nid(ANN): {"Topics": "accounts and logins"}})

    again = digest_json(school, today="2026-12-11")
    ann = by_id(again)[nid(ANN)]
    assert ann["topics"] == [ACCOUNTS]
    assert ann["evidence"] == [[ACCOUNTS, ["your correction on 2026-12-11"]]]
    rows = needs_csv(school)
    assert (rows[nid(ANN)]["Topics"], rows[nid(ANN)]["Corrected"]) == (ACCOUNTS, "2026-12-11")
    assert rows[nid(RAJ)]["Corrected"] == ""
    listed = invoke(school, "needs", "list").stdout
    assert "            corrected 2026-12-11: topics: Accounts and logins\n" in listed
    assert listed.count("corrected") == 1

    # January: new answers in other words. The learned name brings the topic; an answer
    # that shares nothing with the correction is read as before.
    jan = january(
        school,
        answer(RAJ, "1/6/2027 9:00:00", help_text="Lexia isn't loading for my kids"),
        answer(MARIA, "1/7/2027 9:00:00", help_text="My kids can't get into the makerspace"),
    )
    got = by_id(jan)
    assert got[nid(RAJ, "2027-01")]["topics"] == [ACCOUNTS]
    assert got[nid(RAJ, "2027-01")]["evidence"] == [
        [ACCOUNTS, [f"Lexia (learned from your correction of 2026-12 need {nid(ANN)})"]]
    ]
    assert got[nid(RAJ, "2027-01")]["learned"]
    assert (got[nid(MARIA, "2027-01")]["topics"], got[nid(MARIA, "2027-01")]["learned"]) == (
        [], [])  # fmt: skip
    # Ann's December need is carried over with its correction.
    carried = {n["id"]: n for n in jan["carried_over"]}
    assert carried[nid(ANN)]["topics"] == [ACCOUNTS]
    assert needs_csv(school)[nid(ANN)]["Corrected"] == "2026-12-11"


def test_needs_set_corrects_topics_and_kinds(school: Project) -> None:
    december(school)
    text = DECEMBER[1][3]
    wanted = next(k for k in KINDS if k not in kinds_of(text))
    result = invoke(school, "needs", "set", nid(RAJ), "--topics", "", "--kinds", wanted)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("1 need changed; the needs table is updated")
    row = needs_csv(school)[nid(RAJ)]
    assert (row["Topics"], row["Kinds"], row["Status"]) == ("", wanted, "open")
    assert row["Corrected"]
    again = invoke(school, "needs", "set", nid(RAJ), "--topics", "", "--kinds", wanted)
    assert again.stdout.startswith("No need changed (already so)")

    # The next digest keeps it, and a similar answer next month loses the removed topic.
    kept = by_id(digest_json(school, today="2026-12-11"))[nid(RAJ)]
    assert (kept["topics"], kept["kinds"]) == ([], [wanted])
    similar = "Can you help plan our field trip to the aquarium?"
    assert PRINTING in tagger().tag(similar)
    jan = january(school, answer(MARIA, "1/7/2027 9:00:00", help_text=similar))
    maria = by_id(jan)[nid(MARIA, "2027-01")]
    assert PRINTING not in maria["topics"]
    assert maria["learned"] == [
        f"removed 'Printing and copies': field trip beside plan (as in your correction of "
        f"2026-12 need {nid(RAJ)})"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--topics", "AI tool"), "--topics: 'AI tool' is not a topic; did you mean 'AI tools'?"),
        (("--topics", "Reading; Chess"), "--topics: 'Chess' is not a topic"),
        (("--kinds", "lessson"), "--kinds: 'lessson' is not a kind (task, learning or lesson); "
                                 "did you mean 'lesson'?"),
        (("--kinds", ""), "--kinds: a need has at least one kind"),
        ((), "nothing to set"),
    ],
)  # fmt: skip
def test_needs_set_refuses_a_bad_topic_or_kind_and_changes_nothing(
    school: Project, args: tuple[str, ...], message: str
) -> None:
    december(school)
    # An edit waiting in the table is not applied either.
    edit_needs_csv(school, {nid(MARIA): {"Status": "done"}})
    before = (school.folder / "needs.csv").read_bytes()
    result = invoke(school, "needs", "set", nid(ANN), "--status", "done", *args) if args else (
        invoke(school, "needs", "set", nid(ANN)))  # fmt: skip
    if not args:
        assert result.exit_code == 2
        assert message in result.stderr
        return
    assert result.exit_code == 2
    assert f"Error: {message}" in result.stderr
    assert (school.folder / "needs.csv").read_bytes() == before
    with Ledger(school.folder / ".pdmail" / "ledger.sqlite3") as ledger:
        assert {r.id: (r.status, r.is_corrected) for r in ledger.needs.all(CAMPAIGN)} == {
            nid(ANN): ("open", False), nid(RAJ): ("open", False), nid(MARIA): ("open", False)
        }  # fmt: skip


def test_a_bad_topic_in_needs_csv_is_listed_and_the_row_left(school: Project) -> None:
    december(school)
    edit_needs_csv(
        school,
        {nid(ANN): {"Topics": "Acounts and logins", "Status": "done"},
         nid(MARIA): {"Kinds": "task; lesson"}},
    )  # fmt: skip
    listed = invoke(school, "needs", "list")
    assert "'Acounts and logins' is not a topic" in listed.stderr
    digest = digest_json(school, today="2026-12-11")
    [problem] = digest["problems"]
    assert problem == (
        f"{school.folder / 'needs.csv'}, row 2, column 'Topics': 'Acounts and logins' is not a "
        "topic; did you mean 'Accounts and logins'? (the row was left as it was)"
    )
    needs = by_id(digest)
    assert (needs[nid(ANN)]["status"], needs[nid(ANN)]["topics"]) == ("open", [])
    assert needs[nid(MARIA)]["kinds"] == ["task", "lesson"]


def test_the_threshold_is_in_the_config(school: Project) -> None:
    school.write_config({"taxonomy": TAXONOMY, "digest": {"learn_threshold": 1.5}})
    result = invoke(school, "digest", today="2026-12-11")
    assert result.exit_code == 2
    assert "digest.learn_threshold: expected a number from 0 to 1, got 1.5" in result.stderr
    school.write_config({"taxonomy": TAXONOMY, "digest": {"learn_threshold": 0.3}})
    assert school.config().digest.learn_threshold == 0.3


def test_a_name_is_learned_from_one_correction_only_when_unambiguous() -> None:
    first = corrected("amb01", "Can we move my class from Lexia to Zearn?", (ACCOUNTS,))
    assert read([first], "Zearn isn't loading for my kids") is None  # Lexia or Zearn?
    second = corrected("amb02", "Could Zearn and Prodigy run on the old Chromebooks?", (ACCOUNTS,))
    got = read([first, second], "Zearn isn't loading for my kids")
    assert got is not None and got.topics == (ACCOUNTS,)
    assert got.evidence == (
        (ACCOUNTS, ("Zearn (learned from your correction of 2026-12 need amb01)",)),
    )
    assert read([first, second], "Prodigy isn't loading for my kids") is None  # still one


@pytest.mark.parametrize(
    ("corpus", "learned"),
    [
        ((), False),  # "lexia" in lower case only: not known to be a name
        (("Is Lexia down again?", "We use Lexia every day", "Can Lexia work offline?"), True),
    ],
)
def test_a_name_written_in_lower_case_is_learned_where_the_school_writes_it_as_one(
    corpus: tuple[str, ...], learned: bool
) -> None:
    lower = corrected("low01", "my kids cant get into lexia again", (ACCOUNTS,))
    got = read([lower], "lexia isn't loading", corpus)
    assert (got is not None and got.topics == (ACCOUNTS,)) is learned


def test_a_removed_topic_counts_again_in_an_answer_unlike_the_corrected_one() -> None:
    text = (
        "We plan the field trip for March; before it, could my students learn about the "
        "Smithsonian exhibits, their history and the artists behind them?"
    )
    assert PRINTING in tagger().tag(text)
    got = read([TRIP], text)
    assert got is None or PRINTING in got.topics


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ('=HYPERLINK("http://x")', "'=HYPERLINK(\"http://x\")'"),
        ("Reading; \x1b[31mAI\x1b[0m", "'[31mAI [0m'"),  # no escape reaches a terminal
        ("x" * 5000, repr("x" * 59 + "…")),  # a pasted page is quoted short
    ],
)
def test_a_hostile_topics_cell_is_quoted_safely(cell: str, shown: str) -> None:
    edits, problems = read_changes(table(("a1", "done", cell, "task")), [PLAIN], NAMES)
    assert edits == {}
    [problem] = problems
    assert problem.message.startswith(f"{shown} is not a topic")
    assert len(problem.message) < 200 and "\x1b" not in problem.message


def test_a_corrected_kind_moves_the_need_between_the_plan_and_the_to_do_list(
    school: Project,
) -> None:
    december(school)
    maria, raj = nid(MARIA), nid(RAJ)
    before = digest_json(school, today="2026-12-11")
    assert "learning" not in by_id(before)[maria]["kinds"]
    assert raj in {i for p in before["proposals"] for i in p["need_ids"]}
    result = invoke(school, "needs", "set", maria, "--kinds", "learning")
    assert result.exit_code == 0, result.output
    result = invoke(school, "needs", "set", raj, "--kinds", "task")
    assert result.exit_code == 0, result.output
    listed = json.loads(invoke(school, "needs", "list", "--json").stdout)["needs"]
    assert {n["id"]: n["kinds"] for n in listed}[maria] == ["learning"]

    digest = digest_json(school, today="2026-12-11")
    proposed = {i for p in digest["proposals"] for i in p["need_ids"]}
    kinds = {i: n["kinds"] for i, n in by_id(digest).items()}
    assert maria in proposed and kinds[maria] == ["learning"]
    assert raj not in proposed and kinds[raj] == ["task"]  # to do, not a session
    # Carried into January, the corrections still hold.
    jan = january(school)
    carried = {n["id"]: n["kinds"] for n in jan["carried_over"]}
    assert (carried[maria], carried[raj]) == (["learning"], ["task"])
    proposed = {i for p in jan["proposals"] for i in p["need_ids"]}
    assert maria in proposed and raj not in proposed


@pytest.mark.parametrize("how", ["table", "command"])
def test_a_correction_taken_back_is_pdmails_reading_again(school: Project, how: str) -> None:
    december(school)
    result = invoke(school, "needs", "set", nid(ANN), "--topics", ACCOUNTS, "--kinds", "lesson")
    assert result.exit_code == 0, result.output
    assert needs_csv(school)[nid(ANN)]["Corrected"]
    if how == "table":
        edit_needs_csv(school, {nid(ANN): {"Corrected": "forget"}})
    else:
        result = invoke(school, "needs", "set", nid(ANN), "--forget")
        assert result.exit_code == 0, result.output
    again = by_id(digest_json(school, today="2026-12-11"))[nid(ANN)]
    assert (again["topics"], again["kinds"], again["learned"]) == ([], ["task"], [])
    row = needs_csv(school)[nid(ANN)]
    assert (row["Topics"], row["Kinds"], row["Corrected"]) == ("", "task", "")
    # Nothing is learned from it any more.
    jan = january(school, answer(RAJ, "1/6/2027 9:00:00", help_text="Lexia isn't loading"))
    assert by_id(jan)[nid(RAJ, "2027-01")]["topics"] == []


def test_a_blank_corrected_cell_keeps_the_correction(school: Project) -> None:
    # As a correction made in the table looks until pdmail writes the table again.
    december(school)
    edit_needs_csv(school, {nid(MARIA): {"Kinds": "lesson"}})
    assert invoke(school, "needs", "list").exit_code == 0  # applies it, writes nothing
    assert needs_csv(school)[nid(MARIA)]["Corrected"] == ""
    kept = by_id(digest_json(school, today="2026-12-11"))[nid(MARIA)]
    assert kept["kinds"] == ["lesson"]
    assert needs_csv(school)[nid(MARIA)]["Corrected"]  # the day needs list read it


def test_needs_left_as_read_outvote_a_lone_correction() -> None:
    left = replace(PLAIN, id="left1", text="Lexia reports for conferences, printed please",
                   topics=(PRINTING,), kinds=("task",))  # fmt: skip
    assert read([LEXIA], "Lexia isn't loading for my kids") is not None
    assert read([LEXIA, left], "Lexia isn't loading for my kids") is None
    # Removed twice, but counted for the topic in more needs left as read: still counts.
    text = "Help me pick a novel for the field trip bus ride"
    again = corrected("trip02", "Grade 6 field trip to the zoo is on the 12th", (READING,))
    kept = [
        replace(PLAIN, id=f"ok{i}", text=f"Permission slips for the field trip, {n} copies",
                topics=(PRINTING,))
        for i, n in enumerate((30, 60, 90))
    ]  # fmt: skip
    got = read([TRIP, again, *kept], text)
    assert got is None or PRINTING in got.topics


def test_a_correction_in_the_sheets_needs_tab(
    project: Project, google: tuple[FakeSheets, FakeGmail]
) -> None:
    sheets, _ = google
    assert invoke(project, "run", today="2026-12-01").exit_code == 0
    sheets.set_values(SID, "Form Responses 1", [
        RESPONSE_HEADER,
        answer(ANN, "12/2/2026 8:14:22", help_text="My kids can't get into Lexia again"),
        answer(RAJ, "12/3/2026 9:00:00", help_text="Could you pull novels about the ocean?"),
    ])  # fmt: skip
    assert invoke(project, "digest", today="2026-12-11").exit_code == 0
    tab = sheets.values(SID, "pdmail needs")
    header = tab[0]
    assert header[header.index("Topics") + 1 : header.index("Topics") + 3] == ["Kinds", "Corrected"]
    for row in tab[1:]:
        if row[0] == nid(ANN):
            row[header.index("Topics")] = "accounts and logins"
        if row[0] == nid(RAJ):
            row[header.index("Kinds")] = "learnig"
    sheets.set_values(SID, "pdmail needs", tab)

    digest = digest_json(project, today="2026-12-11")
    assert by_id(digest)[nid(ANN)]["topics"] == ["Accounts and logins"]
    [problem] = digest["problems"]
    assert problem == (
        "sheet 'pdmail needs', row 3, column 'Kinds': 'learnig' is not a kind (task, learning "
        "or lesson); did you mean 'learning'? (the row was left as it was)"
    )
    rows = {
        r[0]: dict(zip(header, r, strict=False)) for r in sheets.values(SID, "pdmail needs")[1:]
    }
    assert (rows[nid(ANN)]["Topics"], rows[nid(ANN)]["Corrected"]) == (
        "Accounts and logins", "2026-12-11")  # fmt: skip
    assert rows[nid(RAJ)]["Corrected"] == ""
