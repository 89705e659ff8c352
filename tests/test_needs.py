"""Needs that carry over: the store in the ledger file, the table the librarian edits, and
``pdmail needs list|set`` on a real project folder after a digest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from click.testing import Result
from conftest import ANN, MARIA, RAJ, Project, answer, edit_needs_csv, need_of, needs_csv, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from pdmail import cycles
from pdmail.backends.local import CsvSink
from pdmail.config.records import Taxonomy, Topic
from pdmail.cycle.publish import compile_digest
from pdmail.cycle.tick import tick
from pdmail.digest.build import reading_key
from pdmail.digest.topics import Tagger
from pdmail.errors import BackendError, InputError, PdmailError
from pdmail.models import Table
from pdmail.state.ledger import Ledger
from pdmail.state.needs import (
    HEADER,
    ByKind,
    NeedEdit,
    NeedRecord,
    merge,
    needs_rows,
    read_edits,
)
from pdmail.state.needs_table import keep_needs, read_table_edits

CAMPAIGN = "monthly-update"
D1, D2 = date(2026, 12, 11), date(2026, 12, 20)


def record(ident: str, cycle: str = "2026-12", **kw: object) -> NeedRecord:
    values: dict[str, object] = {
        "campaign": CAMPAIGN,
        "email": f"{ident}@school.example.org",
        "teacher": ident.capitalize(),
        "team": "Grade 6",
        "text": f"help for {ident}",
        "topics": ("Databases",),
        "format": "small group",
    }
    values.update(kw)
    return NeedRecord(id=ident, cycle=cycle, **values)  # type: ignore[arg-type]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path / "state" / "ledger.sqlite3") as led:
        yield led


# -- the store ---------------------------------------------------------------------------------


def test_upsert_inserts_open_with_first_seen(ledger: Ledger) -> None:
    ledger.needs.upsert(
        [record("ann", topics=("Moodle / LMS", "Databases")), record("raj", topics=())], D1
    )
    got = ledger.needs.all(CAMPAIGN)
    assert [(r.id, r.status, r.note, r.first_seen, r.topics) for r in got] == [
        ("ann", "open", "", D1, ("Moodle / LMS", "Databases")),
        ("raj", "open", "", D1, ()),
    ]
    assert got[0] == record("ann", topics=("Moodle / LMS", "Databases"), first_seen=D1)
    assert all(r.is_open for r in got)


def test_a_second_upsert_keeps_status_note_and_first_seen(ledger: Ledger, tmp_path: Path) -> None:
    store = ledger.needs
    store.upsert([record("ann")], D1)
    assert store.set_status({"ann": ("scheduled", "Jan 5")}, D1) == ["ann"]
    store.upsert(
        [record("ann", text="help with Moodle quizzes", format="team meeting", team="Grade 7")],
        D2,
    )
    [r] = store.all(CAMPAIGN)
    assert (r.text, r.format, r.team) == ("help with Moodle quizzes", "team meeting", "Grade 7")
    assert (r.status, r.note, r.first_seen) == ("scheduled", "Jan 5", D1)
    # It is on disk, not only in this connection.
    ledger.close()
    with Ledger(tmp_path / "state" / "ledger.sqlite3") as again:
        [r2] = again.needs.all(CAMPAIGN)
        assert r2 == r


def test_all_is_per_campaign_and_ordered(ledger: Ledger) -> None:
    ledger.needs.upsert(
        [
            record("zed", "2026-12", team="Grade 6"),
            record("amy", "2026-12", team="Grade 7"),
            record("bob", "2026-11", team="Grade 8"),
            record("other", "2026-10", campaign="another-campaign"),
        ],
        D1,
    )
    assert [r.id for r in ledger.needs.all(CAMPAIGN)] == ["bob", "zed", "amy"]
    assert [r.id for r in ledger.needs.all("another-campaign")] == ["other"]


@pytest.mark.parametrize(
    ("edits", "changed", "after"),
    [
        ({"ann": ("done", "")}, ["ann"], {"ann": ("done", ""), "raj": ("scheduled", "Jan 5")}),
        ({"raj": ("scheduled", "Jan 5")}, [], {"ann": ("open", ""), "raj": ("scheduled", "Jan 5")}),
        ({"raj": ("scheduled", "Jan 6")}, ["raj"],
         {"ann": ("open", ""), "raj": ("scheduled", "Jan 6")}),
        ({"ann": ("open", ""), "raj": ("done", "Jan 5")}, ["raj"],
         {"ann": ("open", ""), "raj": ("done", "Jan 5")}),
        ({"nobody": ("done", "")}, [], {"ann": ("open", ""), "raj": ("scheduled", "Jan 5")}),
        ({}, [], {"ann": ("open", ""), "raj": ("scheduled", "Jan 5")}),
    ],
)  # fmt: skip
def test_set_status_returns_only_changed_ids(
    ledger: Ledger,
    edits: dict[str, tuple[str, str]],
    changed: list[str],
    after: dict[str, tuple[str, str]],
) -> None:
    store = ledger.needs
    store.upsert([record("ann"), record("raj")], D1)
    store.set_status({"raj": ("scheduled", "Jan 5")}, D1)
    assert store.set_status(edits, D1) == changed
    assert {r.id: (r.status, r.note) for r in store.all(CAMPAIGN)} == after
    assert store.unknown_ids(["ann", "zz", "nobody"]) == ["nobody", "zz"]


# -- the librarian's table ---------------------------------------------------------------------


def table(*rows: Sequence[str], header: Sequence[str] = ("Need id", "Status", "Note")) -> Table:
    return Table("needs.csv", tuple(header), tuple((i + 2, tuple(r)) for i, r in enumerate(rows)))


@pytest.mark.parametrize(
    ("row", "edit"),
    [
        (("a1", "open", ""), ("open", "")),
        (("a1", "DONE", "met"), ("done", "met")),
        (("a1", " Scheduled ", " Jan 5 "), ("scheduled", "Jan 5")),
        (("'a1", "done", ""), ("done", "")),  # a guarded id reads back as the id
        (("a1", "done", "'=x"), ("done", "=x")),  # pdmail's formula guard comes off
        (("a1", "done", "'+1"), ("done", "+1")),
        (("a1", "done", "'-"), ("done", "-")),
        (("a1", "done", "'@home"), ("done", "@home")),
        (("a1", "done", "'quoted'"), ("done", "'quoted'")),  # the librarian's own apostrophe
    ],
)
def test_read_edits_row(row: tuple[str, str, str], edit: tuple[str, str]) -> None:
    edits, problems = read_edits(table(row))
    assert (edits, problems) == ({"a1": edit}, [])


@pytest.mark.parametrize("status", ["finished", "closed", "", "open?"])
def test_read_edits_unknown_status_is_a_problem_and_the_row_is_left(status: str) -> None:
    edits, problems = read_edits(table(("a1", "done", ""), ("b2", status, "x"), ("c3", "open", "")))
    assert edits == {"a1": ("done", ""), "c3": ("open", "")}
    assert [str(p) for p in problems] == [
        f"needs.csv, row 3, column 'Status': {status!r} is not open, scheduled or done"
    ]


def test_read_edits_skips_rows_without_an_id_and_reads_any_header_case() -> None:
    t = table(("", "done", ""), ("a1", "done", "n"), header=("need ID", "STATUS", "note"))
    assert read_edits(t) == ({"a1": ("done", "n")}, [])


def test_read_edits_without_a_note_column() -> None:
    t = table(("a1", "scheduled"), header=("Need id", "Status"))
    assert read_edits(t) == ({"a1": ("scheduled", "")}, [])


@pytest.mark.parametrize(
    ("header", "missing"),
    [(("Id", "Status", "Note"), "Need id"), (("Need id", "State", "Note"), "Status")],
)
def test_read_edits_missing_column(header: tuple[str, ...], missing: str) -> None:
    with pytest.raises(InputError) as info:
        read_edits(table(("a1", "done", ""), header=header))
    assert info.value.message == (
        f"needs.csv: no column '{missing}'; the needs table must keep its header"
    )
    assert info.value.hint and "Need id, Status, Note" in info.value.hint


def test_needs_rows_order_and_cells() -> None:
    records = [
        record("d1", "2026-12", status="done", team="Grade 6"),
        record("o1", "2026-10", team="Grade 6"),
        record("s1", "2026-11", status="scheduled", note="Jan 5"),
        record("o2", "2026-12", team="Grade 7", teacher="Zed"),
        record("o3", "2026-12", team="Grade 7", teacher="Amy"),
        record("o4", "2026-12", team="Grade 6"),
        record("s2", "2026-12", status="scheduled"),
        record("d2", "2026-11", status="done"),
    ]
    header, rows = needs_rows(records)
    assert header == HEADER
    # Open before scheduled before done; within each, the newest cycle first, then team, name.
    assert [r[0] for r in rows] == ["o4", "o3", "o2", "o1", "s2", "s1", "d1", "d2"]
    one = record("x", topics=("Moodle / LMS", "Databases"), note="=1", first_seen=D1,
                 kinds=("task", "learning"))  # fmt: skip
    assert needs_rows([one])[1] == [
        ["x", "open", "=1", "2026-12", "X", "x@school.example.org", "Grade 6",
         "Moodle / LMS; Databases", "task; learning", "", "small group", "help for x",
         "2026-12-11"],
    ]  # fmt: skip
    fixed = replace(one, corrected_kinds=("lesson",), kinds=("lesson",), corrected=D2)
    assert needs_rows([fixed])[1][0][8:10] == ["lesson", "2026-12-20"]
    assert needs_rows([record("y")])[1][0][-1] == ""  # no first_seen yet


_LIKE = st.builds(
    lambda i, status, cycle, team, teacher, topics, kinds, day: record(
        f"n{i}", cycle, status=status, team=team, teacher=teacher, topics=topics,
        kinds=kinds, first_seen=day, note=f"note {i}",
    ),
    st.integers(0, 10**6),
    st.sampled_from(["open", "scheduled", "done", "odd"]),
    st.sampled_from(["2026-10", "2026-11", "2026-12", "2027-01"]),
    st.sampled_from(["Grade 6", "Grade 7", "(no team)"]),
    st.sampled_from(["Ann Lee", "Raj Patel", "ann lee"]),
    st.sampled_from([(), ("Databases",), ("Databases", "AI tools")]),
    st.sampled_from([(), ("task",), ("task", "learning")]),
    st.sampled_from([None, D1, D2]),
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(_LIKE, max_size=30))
def test_needs_rows_sorts_as_three_stable_sorts(records: list[NeedRecord]) -> None:
    """Status, then the newest cycle, then team and teacher; needs alike in all of these keep
    the order they came in (the same table as sorting by each in turn)."""
    order = {"open": 0, "scheduled": 1, "done": 2}
    ranked = sorted(records, key=lambda r: (r.team, r.teacher))
    ranked.sort(key=lambda r: r.cycle, reverse=True)
    ranked.sort(key=lambda r: order.get(r.status, 3))
    rows = needs_rows(records)[1]
    assert [row[0] for row in rows] == [r.id for r in ranked]
    assert [row[7:9] for row in rows] == [["; ".join(r.topics), "; ".join(r.kinds)] for r in ranked]
    assert [row[-1] for row in rows] == [r.first_seen.isoformat() if r.first_seen else ""
                                         for r in ranked]  # fmt: skip


def test_merge_is_the_store_after_an_upsert(ledger: Ledger) -> None:
    store = ledger.needs
    store.upsert([record("ann"), record("old", "2026-11")], D1)
    store.set_status({"ann": ("scheduled", "Jan 5")}, D1)
    current = [record("ann", text="new text"), record("new")]
    merged = merge(store.all(CAMPAIGN), current, D2)
    assert [(r.id, r.text, r.status, r.note, r.first_seen) for r in merged] == [
        ("old", "help for old", "open", "", D1),
        ("ann", "new text", "scheduled", "Jan 5", D1),
        ("new", "help for new", "open", "", D2),
    ]
    # The same as what the store holds after the real upsert.
    store.upsert(current, D2)
    assert sorted(store.all(CAMPAIGN), key=lambda r: r.id) == sorted(merged, key=lambda r: r.id)


# -- pdmail needs, on a project after a digest -------------------------------------------------

nid = need_of


def invoke(project: Project, *args: str, today: str | None = None) -> Result:
    return run_cli(project, *args, today=today)


def send_and_answer(project: Project) -> None:
    assert invoke(project, "send", today="2026-12-01").exit_code == 0
    project.write_responses(
        [
            answer(
                ANN,
                "12/2/2026 9:00:00",
                help_text="Show me Moodle quiz settings",
                fmt="Team meeting",
            ),
            answer(RAJ, "12/3/2026 9:00:00", help_text="Show me research and MLA citations"),
            answer(MARIA, "12/4/2026 9:00:00", help_text="Show me podcast recording", fmt="1:1"),
        ]
    )


def december(project: Project) -> None:
    send_and_answer(project)
    assert invoke(project, "digest", today="2026-12-11").exit_code == 0


def listed(project: Project, *args: str) -> dict[str, tuple[str, str]]:
    result = invoke(project, "needs", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return {n["id"]: (n["status"], n["note"]) for n in json.loads(result.stdout)["needs"]}


def digest_json(project: Project, *args: str, today: str) -> dict[str, object]:
    result = invoke(project, "digest", "--json", *args, today=today)
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)["digest"]
    return data


def proposed_ids(digest: dict[str, object]) -> set[str]:
    return {i for p in digest["proposals"] for i in p["need_ids"]}  # type: ignore[attr-defined]


def test_the_digest_writes_the_needs_table(project: Project) -> None:
    december(project)
    rows = list(needs_csv(project).values())
    assert list(rows[0]) == HEADER
    assert [(r["Need id"], r["Status"], r["Teacher"], r["Team"], r["Preferred format"],
             r["Cycle"], r["First seen"]) for r in rows] == [
        (nid(ANN), "open", "Ann Lee", "Grade 6", "team meeting", "2026-12", "2026-12-11"),
        (nid(RAJ), "open", "Raj Patel", "Grade 6", "small group", "2026-12", "2026-12-11"),
        (nid(MARIA), "open", "María Gómez", "Grade 7", "one-on-one", "2026-12", "2026-12-11"),
    ]  # fmt: skip
    assert listed(project) == {nid(ANN): ("open", ""), nid(RAJ): ("open", ""),
                               nid(MARIA): ("open", "")}  # fmt: skip


def test_a_hand_edit_of_needs_csv_is_picked_up_everywhere(project: Project) -> None:
    december(project)
    edit_needs_csv(project, {nid(ANN): {"Status": "Done", "Note": "Visited Grade 6 on 12/15"}})

    # pdmail needs list: done needs are left out unless asked for.
    plain = invoke(project, "needs", "list")
    assert plain.exit_code == 0
    assert nid(ANN) not in plain.stdout
    assert f"{nid(RAJ)}  open      2026-12  Raj Patel (Grade 6)" in plain.stdout
    assert listed(project, "--all")[nid(ANN)] == ("done", "Visited Grade 6 on 12/15")
    assert set(listed(project, "--status", "done")) == {nid(ANN)}

    # The same month's digest again: Ann's need is no longer offered, and the table keeps
    # the edit.
    again = digest_json(project, today="2026-12-11")
    assert proposed_ids(again) == {nid(RAJ), nid(MARIA)}
    statuses = {n["id"]: n["status"] for n in again["needs"]}  # type: ignore[attr-defined]
    assert statuses == {nid(ANN): "done", nid(RAJ): "open", nid(MARIA): "open"}
    rows = {r["Need id"]: (r["Status"], r["Note"]) for r in needs_csv(project).values()}
    assert rows[nid(ANN)] == ("done", "Visited Grade 6 on 12/15")

    # Next month: the two open needs carry over; the done one does not.
    january = digest_json(project, "--cycle", "2027-01", today="2027-01-15")
    carried = january["carried_over"]
    assert [(n["id"], n["age"], n["status"]) for n in carried] == [  # type: ignore[attr-defined]
        (nid(RAJ), 1, "open"),
        (nid(MARIA), 1, "open"),
    ]
    assert proposed_ids(january) == {nid(RAJ), nid(MARIA)}
    assert (january["done"], january["total_needs"]) == (1, 3)


def test_needs_set_changes_the_status_and_rewrites_the_table(project: Project) -> None:
    december(project)
    result = invoke(project, "needs", "set", nid(RAJ), "--status", "scheduled",
                    "--note", "=Jan 5, room 12")  # fmt: skip
    assert result.exit_code == 0, result.output
    where = project.folder / "needs.csv"
    assert result.stdout.strip() == (
        f"1 need is now scheduled; the needs table is updated ({where})."
    )
    raw = where.read_text(encoding="utf-8-sig")
    assert "'=Jan 5, room 12" in raw  # the formula guard in the file ...
    rows = {r["Need id"]: (r["Status"], r["Note"]) for r in needs_csv(project).values()}
    assert rows[nid(RAJ)] == ("scheduled", "'=Jan 5, room 12")
    # ... and read back as the note itself.
    assert listed(project)[nid(RAJ)] == ("scheduled", "=Jan 5, room 12")
    assert list(listed(project, "--status", "scheduled")) == [nid(RAJ)]
    # Scheduled is still carried over, but not offered again.
    january = digest_json(project, "--cycle", "2027-01", today="2027-01-15")
    assert [n["id"] for n in january["carried_over"]] == [nid(ANN), nid(RAJ), nid(MARIA)]  # type: ignore[attr-defined]
    assert proposed_ids(january) == {nid(ANN), nid(MARIA)}

    # Setting it again changes nothing; several ids at once; the note is kept without --note.
    again = invoke(project, "needs", "set", nid(RAJ), "--status", "scheduled")
    assert again.stdout.startswith("No need changed (already scheduled)")
    both = invoke(project, "needs", "set", nid(RAJ), nid(ANN), "--status", "done")
    assert both.stdout.startswith("2 needs are now done")
    assert listed(project, "--all") == {
        nid(ANN): ("done", ""),
        nid(RAJ): ("done", "=Jan 5, room 12"),
        nid(MARIA): ("open", ""),
    }


def test_needs_set_unknown_id(project: Project) -> None:
    december(project)
    before = (project.folder / "needs.csv").read_bytes()
    result = invoke(project, "needs", "set", nid(RAJ), "0000000000", "--status", "done")
    assert result.exit_code == 2
    assert "Error: no need with the id 0000000000" in result.stderr
    assert "pdmail needs list --all" in result.stderr
    # Nothing changed, not even the known id given with it.
    assert (project.folder / "needs.csv").read_bytes() == before
    assert listed(project)[nid(RAJ)] == ("open", "")


def test_needs_list_reports_an_unreadable_status_and_keeps_the_need(project: Project) -> None:
    december(project)
    edit_needs_csv(project, {nid(ANN): {"Status": "finished"}, nid(RAJ): {"Status": "done"}})
    result = invoke(project, "needs", "list", "--json")
    data = json.loads(result.stdout)
    assert {n["id"]: n["status"] for n in data["needs"]} == {nid(ANN): "open", nid(MARIA): "open"}
    [problem] = data["problems"]
    assert problem.endswith("row 2, column 'Status': 'finished' is not open, scheduled or done")
    plain = invoke(project, "needs", "list")
    assert "skipped:" in plain.stderr and "'finished'" in plain.stderr


def test_needs_list_json_parses(project: Project) -> None:
    december(project)
    result = invoke(project, "needs", "list", "--json")
    data = json.loads(result.stdout)
    assert data["problems"] == []
    [first, *_] = data["needs"]
    assert set(first) >= {"id", "status", "note", "cycle", "teacher", "team", "email", "text",
                          "topics", "format", "first_seen"}  # fmt: skip
    assert (first["id"], first["topics"], first["first_seen"]) == (
        nid(ANN),
        ["LMS"],
        "2026-12-11",
    )


def test_needs_list_before_any_digest(project: Project) -> None:
    result = invoke(project, "needs", "list")
    assert result.exit_code == 0
    assert result.stdout.strip() == "No needs with that status."


# -- dry runs ----------------------------------------------------------------------------------


def test_a_dry_run_of_compile_digest_writes_nothing(project: Project) -> None:
    send_and_answer(project)
    with project.workspace(date(2026, 12, 11)) as ws:
        digest = compile_digest(ws, cycles.cycle(ws.config, "2026-12"), persist=False)
        assert {n.id for n in digest.needs} == {nid(ANN), nid(RAJ), nid(MARIA)}
        proposed = {i for p in digest.proposals for i in p.need_ids}
        assert proposed == {nid(ANN), nid(RAJ), nid(MARIA)}
        assert ws.ledger.needs.all(CAMPAIGN) == []
    assert not (project.folder / "needs.csv").exists()


def test_a_dry_run_applies_the_tables_edits_without_keeping_them(project: Project) -> None:
    december(project)
    edit_needs_csv(project, {nid(ANN): {"Status": "done", "Note": "met"}})
    before = (project.folder / "needs.csv").read_bytes()
    with project.workspace(date(2026, 12, 11)) as ws:
        digest = compile_digest(ws, cycles.cycle(ws.config, "2026-12"), persist=False)
        assert {n.id: n.status for n in digest.needs}[nid(ANN)] == "done"
        assert nid(ANN) not in {i for p in digest.proposals for i in p.need_ids}
        assert {r.id: r.status for r in ws.ledger.needs.all(CAMPAIGN)}[nid(ANN)] == "open"
    assert (project.folder / "needs.csv").read_bytes() == before


def test_a_dry_run_tick_on_the_digest_day_records_no_needs(project: Project) -> None:
    send_and_answer(project)
    with project.workspace(date(2026, 12, 11)) as ws:
        report = tick(ws, date(2026, 12, 11), dry_run=True)
        assert [(n, [o.result for o in r.outcomes]) for n, r in report.steps] == [
            ("2026-12 digest", ["would-send"])
        ]
        assert ws.ledger.needs.all(CAMPAIGN) == []
    assert not (project.folder / "needs.csv").exists()


# -- the table kept in step, from its pieces (no workspace) ------------------------------------


class _FullDisk(CsvSink):
    def write_table(self, name: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        raise BackendError(f"{self.path(name)}: cannot write (No space left on device)")


NOW = datetime(2026, 12, 11, 16, 0, tzinfo=timezone.utc)


def test_keep_needs_keeps_the_tables_edits_then_adds_the_fresh_ones(
    ledger: Ledger, tmp_path: Path
) -> None:
    sink = CsvSink(tmp_path)
    ledger.needs.upsert([record("ann")], D1)
    sink.write_table("needs", *needs_rows(ledger.needs.all(CAMPAIGN)))
    edit = tmp_path / "needs.csv"
    edit.write_text(edit.read_text(encoding="utf-8-sig").replace(",open,", ",done,"), "utf-8")

    # A dry run: what would be kept, and nothing written.
    before = edit.read_bytes()
    would, _ = keep_needs(ledger.needs, sink, CAMPAIGN, ["Databases"], NOW, [record("raj")],
                          persist=False)  # fmt: skip
    assert [(r.id, r.status) for r in would] == [("ann", "done"), ("raj", "open")]
    assert [r.status for r in ledger.needs.all(CAMPAIGN)] == ["open"]
    assert edit.read_bytes() == before

    kept, problems = keep_needs(ledger.needs, sink, CAMPAIGN, ["Databases"], NOW, [record("raj")])
    assert ([(r.id, r.status, r.first_seen) for r in kept], problems) == (
        [("ann", "done", D1), ("raj", "open", NOW.date())],
        [],
    )
    table = sink.read_table("needs")
    assert table is not None
    assert {cells[0]: cells[1] for _, cells in table.rows} == {"ann": "done", "raj": "open"}


def test_keep_needs_collects_a_table_it_cannot_write_and_keeps_the_needs(
    ledger: Ledger, tmp_path: Path
) -> None:
    errors: list[PdmailError] = []
    kept, _ = keep_needs(ledger.needs, _FullDisk(tmp_path), CAMPAIGN, [], NOW, [record("ann")],
                         errors=errors)  # fmt: skip
    assert [r.id for r in kept] == [r.id for r in ledger.needs.all(CAMPAIGN)] == ["ann"]
    assert [e.message for e in errors] == [f"{tmp_path / 'needs.csv'}: cannot write (No space "
                                           "left on device)"]  # fmt: skip
    with pytest.raises(BackendError):
        keep_needs(ledger.needs, _FullDisk(tmp_path), CAMPAIGN, [], NOW, [record("raj")])


# -- the table read once a run, again only when it changed -------------------------------------


class _CountingSink(CsvSink):
    reads = 0

    def read_table(self, name: str) -> Table | None:
        self.reads += 1
        return super().read_table(name)


class _NoStampSink(_CountingSink):
    table_stamp = None  # a sink that cannot tell whether its table changed


def _edited_table(ledger: Ledger, sink: CsvSink, tmp_path: Path) -> Path:
    ledger.needs.upsert([record("ann"), record("bob")], D1)
    sink.write_table("needs", *needs_rows(ledger.needs.all(CAMPAIGN)))
    table = tmp_path / "needs.csv"
    text = table.read_text(encoding="utf-8-sig")
    table.write_text(text.replace("ann,open,", "ann,done,"), "utf-8")
    return table


def test_keep_needs_uses_a_reading_of_an_unchanged_table_again(
    ledger: Ledger, tmp_path: Path
) -> None:
    sink = _CountingSink(tmp_path)
    _edited_table(ledger, sink, tmp_path)
    read = read_table_edits(ledger.needs, sink, CAMPAIGN, ["Databases"])
    kept, _ = keep_needs(ledger.needs, sink, CAMPAIGN, ["Databases"], NOW, [record("raj")],
                         read=read)  # fmt: skip
    assert sink.reads == 1
    assert [(r.id, r.status) for r in kept] == [("ann", "done"), ("bob", "open"), ("raj", "open")]


@pytest.mark.parametrize(
    "change",
    ["the librarian edits the table", "the table is replaced", "another run sets a status",
     "this run sets a status", "other topics"],
)  # fmt: skip
def test_keep_needs_reads_a_changed_table_or_store_again(
    ledger: Ledger, tmp_path: Path, change: str
) -> None:
    sink = _CountingSink(tmp_path)
    table = _edited_table(ledger, sink, tmp_path)
    read = read_table_edits(ledger.needs, sink, CAMPAIGN, ["Databases"])
    topics = ["Databases"]
    want = {"ann": "done", "bob": "open"}
    if change == "the librarian edits the table":
        # Same size and, on a coarse clock, the same time: still a change.
        with table.open("r+", encoding="utf-8") as f:
            text = f.read()
            f.seek(0)
            f.write(text.replace("bob,open,", "bob,done,"))
        want["bob"] = "done"
    elif change == "the table is replaced":
        fresh = tmp_path / "new.csv"
        fresh.write_text(table.read_text("utf-8").replace("ann,done,", "ann,scheduled,"), "utf-8")
        fresh.replace(table)
        want["ann"] = "scheduled"
    elif change == "another run sets a status":
        # The table is read again (and, as always, what it says wins).
        with Ledger(tmp_path / "state" / "ledger.sqlite3") as other:
            other.needs.set_status({"bob": ("scheduled", "")}, D2)
    elif change == "this run sets a status":
        ledger.needs.set_status({"bob": ("scheduled", "")}, D2)
    else:
        topics = ["Databases", "AI tools"]
    kept, _ = keep_needs(ledger.needs, sink, CAMPAIGN, topics, NOW, read=read)
    assert sink.reads == 2
    assert {r.id: r.status for r in kept} == want


def test_keep_needs_reads_again_when_the_sink_cannot_tell(ledger: Ledger, tmp_path: Path) -> None:
    sink = _NoStampSink(tmp_path)
    _edited_table(ledger, sink, tmp_path)
    read = read_table_edits(ledger.needs, sink, CAMPAIGN, ["Databases"])
    keep_needs(ledger.needs, sink, CAMPAIGN, ["Databases"], NOW, read=read)
    assert sink.reads == 2


def test_needs_alike_in_cycle_team_and_name_keep_the_order_they_were_kept_in(
    ledger: Ledger,
) -> None:
    """Two teachers of one name in one team: the table lists them as they were first kept,
    after any later write to either."""
    same = {"teacher": "Ann Lee", "team": "Grade 6"}
    ledger.needs.upsert([record("zz", **same), record("aa", **same), record("mm", **same)], D1)
    ledger.needs.upsert([record("aa", text="new words", **same)], D2)  # rewritten: same place
    ledger.needs.set_status({"zz": ("done", "")}, D2)
    assert [r.id for r in ledger.needs.all(CAMPAIGN)] == ["zz", "aa", "mm"]


# What happens to the store between reading the table and keeping the needs, and the fresh
# needs kept: whatever it is, keep_needs returns (and writes to the table) what the store holds.
_SAME = {"teacher": "Ann Lee", "team": "Grade 6"}
_BETWEEN = {
    "nothing": None,
    "another run adds a need": lambda led: led.needs.upsert([record("ab", **_SAME)], D2),
    "another run sets a status": lambda led: led.needs.set_status({"b": ("done", "")}, D2),
    "another run reads a need again": lambda led: led.needs.upsert(
        [record("c", text="other words", teacher="Cy")], D2
    ),
}
_FRESH = {
    "none": [],
    "a new need among namesakes": [record("aa", **_SAME)],
    "a kept need asked again in new words": [record("b", text="new words", **_SAME)],
    "a kept need's teacher moved to another team": [record("c", teacher="Cy", team="Grade 5")],
    "only the name changed (the store keeps the kept name)": [record("a", teacher="Ann L.")],
    "another campaign's need": [record("x", campaign="another-campaign")],
}


class _BusySink(CsvSink):
    """Another run writes to the ledger while this one reads the table (once)."""

    change: Callable[[Ledger], object] | None = None

    def read_table(self, name: str) -> Table | None:
        change, self.change = self.change, None
        if change is not None:
            with Ledger(self.folder / "state" / "ledger.sqlite3") as other:
                change(other)
        return super().read_table(name)


@pytest.mark.parametrize("when", ["before keep_needs", "while keep_needs reads the table"])
@pytest.mark.parametrize("between", list(_BETWEEN))
@pytest.mark.parametrize("fresh", list(_FRESH))
def test_keep_needs_returns_what_the_store_holds_after_its_writes(
    ledger: Ledger, tmp_path: Path, between: str, fresh: str, when: str
) -> None:
    sink = _BusySink(tmp_path)
    ledger.needs.upsert([record("c", teacher="Cy"), record("b", **_SAME), record("a", **_SAME),
                         record("d", "2026-11")], D1)  # fmt: skip
    sink.write_table("needs", *needs_rows(ledger.needs.all(CAMPAIGN)))
    table = tmp_path / "needs.csv"
    text = table.read_text(encoding="utf-8-sig")
    table.write_text(text.replace("d,open,", "d,scheduled,").replace("a,open,", "a,done,"), "utf-8")
    read = read_table_edits(ledger.needs, sink, CAMPAIGN, ["Databases"])
    change = _BETWEEN[between]
    if change is not None and when == "before keep_needs":
        with Ledger(tmp_path / "state" / "ledger.sqlite3") as other:
            change(other)
    else:
        sink.change = change
    # While it reads the table itself (a reading made earlier would be made again).
    mine = read if when == "before keep_needs" else None
    kept, problems = keep_needs(ledger.needs, sink, CAMPAIGN, ["Databases"], NOW,
                                _FRESH[fresh], read=mine)  # fmt: skip
    assert problems == [] and sink.change is None
    assert kept == ledger.needs.all(CAMPAIGN)
    assert kept[0].id == "d" and kept[0].status == "scheduled"
    written = sink.read_table("needs")
    assert written is not None
    assert [list(cells) for _, cells in written.rows] == needs_rows(kept)[1]


@pytest.mark.parametrize(
    ("before", "written"),
    [
        (["a", "b", "c"], ["b"]),  # b rewritten: read again
        (["a", "b"], ["b"]),  # c came from elsewhere and was not named: all are read
        (["a", "b", "c", "gone"], ["b"]),  # a need no longer kept is left out
        ([], []),
    ],
)
def test_all_after_is_what_all_returns(
    ledger: Ledger, before: list[str], written: list[str]
) -> None:
    store = ledger.needs
    store.upsert([record(i, teacher="Ann Lee") for i in ("a", "b", "c", "gone")], D1)
    earlier = {r.id: r for r in store.all(CAMPAIGN)}
    with ledger._read() as db:
        db.execute("DELETE FROM needs WHERE id='gone'")
    store.upsert([record("b", text="new words", team="Grade 5")], D2)
    got = store.all_after([earlier[i] for i in before], CAMPAIGN, written)
    assert got == store.all(CAMPAIGN)
    assert [r.id for r in got] == ["b", "a", "c"] and got[0].text == "new words"


def test_keep_needs_reads_again_only_the_needs_it_wrote(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A month's needs kept among a year of them: the year is read once, not again after."""
    store = ledger.needs
    store.upsert([record(f"n{i}", "2026-11") for i in range(50)], D1)
    sink = CsvSink(tmp_path)
    read = read_table_edits(store, sink, CAMPAIGN, ["Databases"])
    made: list[int] = []
    select = type(store)._select

    def counting(self: object, where: str, args: Sequence[object]) -> list[NeedRecord]:
        got = select(store, where, args)
        made.append(len(got))
        return got

    monkeypatch.setattr(type(store), "_select", counting)
    fresh = [record("new"), record("n7", "2026-11", text="again")]
    kept, _ = keep_needs(store, sink, CAMPAIGN, ["Databases"], NOW, fresh, read=read)
    assert sum(made) == 2  # the two needs written, read back
    assert [r.id for r in kept][-1] == "new" and len(kept) == 51
    monkeypatch.undo()
    assert kept == store.all(CAMPAIGN)


def test_a_digest_reads_needs_csv_once_and_still_refuses_nothing_it_read(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """compile_digest reads the librarian's table once and keeps exactly its edits."""
    reads: list[str] = []
    original = CsvSink.read_table

    def counting(self: CsvSink, name: str) -> Table | None:
        reads.append(name)
        return original(self, name)

    monkeypatch.setattr(CsvSink, "read_table", counting)
    day = date(2026, 12, 11)
    project.write_responses([answer(ANN, "12/3/2026 8:14:22", help_text="Help with Canva")])
    with project.workspace(day) as ws:
        compile_digest(ws, cycles.cycle(ws.config, "2026-12"))
    edit_needs_csv(project, {need_of(ANN): {"Status": "done", "Note": "Sent the guide"}})
    reads.clear()
    with project.workspace(day) as ws:
        compile_digest(ws, cycles.cycle(ws.config, "2026-12"))
        assert [(r.status, r.note) for r in ws.ledger.needs.all(CAMPAIGN)] == [
            ("done", "Sent the guide")
        ]
    assert reads.count("needs") == 1


# -- carried needs are read once and kept --------------------------------------------------------

LEARNING_ASKS = {
    ANN: "Could you show me how to use Canva? Also pull books on volcanoes.",
    RAJ: "Our team wants PD on Google Classroom at our PLC.",
    MARIA: "A lesson on citations for my 3rd period, and show me NoodleTools.",
}


def _two_months(project: Project) -> tuple[date, cycles.Cycle]:
    """December's answers digested on its digest day; January's cycle, with no answers."""
    project.write_responses(
        [answer(who, "12/3/2026 8:14:22", help_text=text) for who, text in LEARNING_ASKS.items()]
    )
    with project.workspace(date(2026, 12, 11)) as ws:
        compile_digest(ws, cycles.cycle(ws.config, "2026-12"))
        january = cycles.cycle(ws.config, "2027-01")
    return january.digest, january


def _readings(project: Project) -> list[tuple[str, str]]:
    with Ledger(project.folder / ".pdmail" / "ledger.sqlite3") as ledger, ledger._read() as db:
        return [tuple(r) for r in db.execute("SELECT key, by_kind FROM need_readings")]


def test_a_carried_need_is_read_as_before_whether_its_reading_was_kept_or_not(
    project: Project,
) -> None:
    day, january = _two_months(project)
    # December's learning needs, kept for the months they carry over into.
    assert _readings(project)
    with project.workspace(day) as ws:
        with_readings = compile_digest(ws, january, persist=False)
        with ws.ledger._read() as db:
            db.execute("DELETE FROM need_readings")
        without = compile_digest(ws, january, persist=False)
    assert with_readings.carried_over
    assert any(n.by_kind for n in with_readings.carried_over)
    assert with_readings == without


def test_a_kept_reading_is_used_only_for_the_same_text_taxonomy_and_rules(
    project: Project,
) -> None:
    """A reading kept under a key is what the digest shows (so a changed taxonomy, which
    changes the key, is read again)."""
    day, january = _two_months(project)
    ann = need_of(ANN)
    with project.workspace(day) as ws:
        tagger = Tagger.from_taxonomy(ws.config.taxonomy)
        [record] = [r for r in ws.ledger.needs.all(CAMPAIGN) if r.id == ann]
        key = reading_key(tagger, record.text, record.topics, record.kinds)
        assert key in dict(_readings(project))
        planted: ByKind = (("learning", ("Planted topic",)),)
        ws.ledger.needs.keep_readings({key: planted})
        digest = compile_digest(ws, january, persist=False)
        assert [n.by_kind for n in digest.carried_over if n.id == ann] == [planted]
        other = Tagger.from_taxonomy(
            Taxonomy(topics=(Topic(name="Planted", keywords=("planted",)),))
        )
        assert reading_key(other, record.text, record.topics, record.kinds) != key
        assert reading_key(tagger, record.text + " ", record.topics, record.kinds) != key


def test_a_dry_run_keeps_no_reading(project: Project) -> None:
    project.write_responses([answer(ANN, "12/3/2026 8:14:22", help_text=LEARNING_ASKS[ANN])])
    with project.workspace(date(2026, 12, 11)) as ws:
        compile_digest(ws, cycles.cycle(ws.config, "2026-12"), persist=False)
    assert not (project.folder / ".pdmail" / "ledger.sqlite3").exists() or not _has_readings(
        project
    )


def _has_readings(project: Project) -> bool:
    try:
        return bool(_readings(project))
    except Exception:  # no table: nothing was ever kept
        return False


def test_a_stored_need_reads_back_equal_to_the_record_written(ledger: Ledger) -> None:
    """The store's records are whole NeedRecords: equal, hashable and replaceable like any."""
    written = record("ann", topics=("Moodle / LMS", "Databases"), kinds=("task", "learning"))
    ledger.needs.upsert([written], D1)
    ledger.needs.apply({"ann": NeedEdit("scheduled", "Tue", ("Databases",), None)}, D2)
    [got] = ledger.needs.all(CAMPAIGN)
    want = replace(written, status="scheduled", note="Tue", first_seen=D1, topics=("Databases",),
                   corrected_topics=("Databases",), corrected=D2,
                   read_topics=("Moodle / LMS", "Databases"))  # fmt: skip
    assert got == want and hash(got) == hash(want)
    assert replace(got, note="x").note == "x" and got.is_corrected


def test_a_reading_that_cannot_be_kept_stops_nothing(project: Project) -> None:
    """The readings are a cache: a ledger that refuses them still keeps the month's needs."""
    path = project.folder / ".pdmail" / "ledger.sqlite3"
    with Ledger(path) as ledger, ledger._read() as db:
        db.execute("CREATE TABLE need_readings (key TEXT PRIMARY KEY, by_kind TEXT NOT NULL)")
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON need_readings "
                   "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")  # fmt: skip
    project.write_responses([answer(ANN, "12/3/2026 8:14:22", help_text=LEARNING_ASKS[ANN])])
    with project.workspace(date(2026, 12, 11)) as ws:
        digest = compile_digest(ws, cycles.cycle(ws.config, "2026-12"))
        assert [r.id for r in ws.ledger.needs.all(CAMPAIGN)] == [n.id for n in digest.needs]
    assert _readings(project) == []


# Edits as a table read back gives them, against needs kept in two campaigns: applied with the
# needs just read (``known``) or without, the same needs change and the store ends the same.
_EDITS = {
    "as they were": {"a": NeedEdit("open", ""), "b": NeedEdit("scheduled", "Tue")},
    "a status and a note": {"a": NeedEdit("done", ""), "b": NeedEdit("scheduled", "Wed")},
    "a correction": {"a": NeedEdit("open", "", ("Moodle / LMS",), None)},
    "a kinds correction": {"b": NeedEdit("scheduled", "Tue", None, ("task",))},
    "a correction forgotten": {"c": NeedEdit("open", "", forget=True)},
    "a correction kept": {"c": NeedEdit("open", "")},
    "another campaign's need": {"x": NeedEdit("done", "elsewhere")},
    "a need not kept": {"nobody": NeedEdit("done", "")},
    "all at once": {
        "a": NeedEdit("done", "met"),
        "b": NeedEdit("open", ""),
        "c": NeedEdit("open", "", forget=True),
        "x": NeedEdit("scheduled", ""),
        "nobody": NeedEdit("done", ""),
    },
}


@pytest.mark.parametrize("known", ["the needs just read", "some of them", "none"])
@pytest.mark.parametrize("edits", list(_EDITS))
def test_apply_with_the_needs_just_read_changes_what_it_would_without(
    tmp_path: Path, edits: str, known: str
) -> None:
    def kept(path: Path, use_known: bool) -> tuple[list[str], list[tuple[object, ...]]]:
        with Ledger(path) as ledger:
            store = ledger.needs
            store.upsert([record("a"), record("b", kinds=("learning",)), record("c"),
                          record("x", campaign="another-campaign")], D1)  # fmt: skip
            corrected = NeedEdit("open", "", ("Databases", "Moodle / LMS"), None)
            store.apply({"b": NeedEdit("scheduled", "Tue"), "c": corrected}, D1)
            read = store.all(CAMPAIGN)
            given = {"the needs just read": read, "some of them": read[:1], "none": []}[known]
            changed = store.apply(_EDITS[edits], D2, now=NOW, known=given if use_known else ())
            with ledger._read() as db:
                rows = db.execute("SELECT * FROM needs ORDER BY id").fetchall()
            return changed, [tuple(r) for r in rows]

    with_known = kept(tmp_path / "with" / "ledger.sqlite3", use_known=True)
    without = kept(tmp_path / "without" / "ledger.sqlite3", use_known=False)
    assert with_known == without
    assert with_known[0] or edits in ("as they were", "a correction kept", "a need not kept")
