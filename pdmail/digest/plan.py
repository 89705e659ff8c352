"""Turning needs into sessions to offer, and saying who leads each.

The way school librarians deliver professional development: most help is one-on-one or in a
small group; a visit to a grade-level team meeting, tailored to that team, serves several
teachers at once better than an all-staff session. So, for each topic, the teachers who chose a
team meeting (ticked it, or asked in words for a visit to their team) are first gathered by
team (a team meeting once ``team_meeting_min`` of one team chose it, or one asked for the
visit); then everyone open to a group across teams (an after-school or online class once
``small_group_min`` are); those who asked for a written guide share one; everyone else gets
one-on-one help. Only learning needs are planned: tasks and lessons are not PD sessions.

Who leads follows the topic's stage: learning work (a pilot) belongs to the integration
specialists, implementation work is led by the librarian with the specialists preparing them,
standard work is the librarian's. Owners named on a topic lead it whatever the stage.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from ..config.records import Sessions, Specialist, Topic

NO_TEAM = "(no team)"
TEAM_MEETING = "team meeting"
SMALL_GROUP = "small group"
WRITTEN_GUIDE = "written guide"
ONE_ON_ONE = "one-on-one"
KIND_ORDER = {TEAM_MEETING: 0, SMALL_GROUP: 1, WRITTEN_GUIDE: 2, ONE_ON_ONE: 3}


@dataclass(frozen=True)
class Ask:
    """One teacher's open learning need on one topic, as planning sees it. ``format`` holds
    every format the teacher ticked, joined with ", "; ``team_visit`` is set when the answer
    itself asks the librarian to come to the team ("come to our ELA PLC")."""

    need_id: str
    email: str
    teacher: str
    team: str
    format: str
    team_visit: bool = False

    @property
    def formats(self) -> frozenset[str]:
        return _formats(self.format)


# Planning asks each ask's formats several times, and thousands of asks share a few cells.
@functools.lru_cache(maxsize=1024)
def _formats(cell: str) -> frozenset[str]:
    return frozenset(f.strip() for f in cell.split(",") if f.strip())


@dataclass(frozen=True)
class Lead:
    """Who leads a topic's sessions, who supports, and the specialists involved."""

    lead: str
    support: str
    specialists: tuple[str, ...]  # addresses of the specialists who lead or support
    people: tuple[str, ...] = ()  # everyone involved, by name, the lead first


@dataclass(frozen=True)
class Proposal:
    """A session to offer: what kind, on what, for whom, led by whom."""

    kind: str
    topic: str
    title: str
    teachers: tuple[str, ...]
    emails: tuple[str, ...]
    teams: tuple[str, ...]
    need_ids: tuple[str, ...]
    stage: str
    lead: str
    support: str
    specialists: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.emails)


def ownership(topic: Topic, specialists: Sequence[Specialist], librarian: str) -> Lead:
    """Who leads ``topic``'s sessions, from its owners or else its stage."""

    def names(people: Sequence[Specialist]) -> str:
        return " and ".join(p.name for p in people)

    owners = [s for s in specialists if s.email.lower() in topic.owners]
    if owners:
        helper = (librarian,) if topic.stage != "learning" else ()
        return Lead(
            names(owners),
            helper[0] if helper else "",
            tuple(s.email.lower() for s in owners),
            (*(s.name for s in owners), *helper),
        )
    everyone = tuple(s.email.lower() for s in specialists)
    all_names = tuple(s.name for s in specialists)
    if topic.stage == "learning" and specialists:
        return Lead(names(specialists), "", everyone, all_names)
    if topic.stage == "implementation" and specialists:
        return Lead(
            librarian, f"prepared by {names(specialists)}", everyone, (librarian, *all_names)
        )
    return Lead(librarian, "", (), (librarian,))


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def propose(topic: Topic, asks: Sequence[Ask], sessions: Sessions, lead: Lead) -> list[Proposal]:
    """The sessions that serve every teacher asking about ``topic``; each lands in exactly
    one. ``asks`` come newest first, so a teacher's latest preferred format is the one used."""
    seen: dict[str, Ask] = {}
    for ask in asks:  # one ask per teacher per topic: the first given (the newest) wins
        seen.setdefault(ask.email, ask)
    out: list[Proposal] = []

    def add(kind: str, title: str, members: Sequence[Ask]) -> None:
        out.append(
            Proposal(
                kind=kind,
                topic=topic.name,
                title=title,
                teachers=tuple(a.teacher for a in members),
                emails=tuple(a.email for a in members),
                teams=tuple(sorted({a.team for a in members})),
                need_ids=tuple(a.need_id for a in members),
                stage=topic.stage,
                lead=lead.lead,
                support=lead.support,
                specialists=lead.specialists,
            )
        )

    # A team meeting only for teachers who chose it (ticked it, or asked in words for a visit
    # to their team), once enough of one team do or one of them asked for the visit.
    by_team: dict[str, list[Ask]] = {}
    for ask in seen.values():
        if ask.team != NO_TEAM and (ask.team_visit or TEAM_MEETING in ask.formats):
            by_team.setdefault(ask.team, []).append(ask)
    placed: set[str] = set()
    for team in sorted(by_team):
        members = by_team[team]
        if len(members) >= sessions.team_meeting_min or any(a.team_visit for a in members):
            add(
                TEAM_MEETING,
                f"{team} team meeting: {topic.name} ({plural(len(members), 'teacher')})",
                members,
            )
            placed.update(a.email for a in members)
    # Across teams: everyone open to a group (a group format, or no format ticked) but not a
    # teacher who chose only one-on-one help or only a guide.
    rest = [a for a in seen.values() if a.email not in placed]
    pool = sorted(
        (a for a in rest if not a.formats or a.formats & {SMALL_GROUP, TEAM_MEETING}),
        key=lambda a: a.team,  # stable: within a team, newest first
    )
    if len(pool) >= sessions.small_group_min:
        teams = len({a.team for a in pool})
        add(
            SMALL_GROUP,
            f"After-school or online class: {topic.name} "
            f"({plural(len(pool), 'teacher')} from {plural(teams, 'team')})",
            pool,
        )
        placed.update(a.email for a in pool)
    guide = [a for a in rest if a.email not in placed and WRITTEN_GUIDE in a.formats]
    if guide:
        add(
            WRITTEN_GUIDE,
            f"Written guide: {topic.name} (for {plural(len(guide), 'teacher')})",
            guide,
        )
        placed.update(a.email for a in guide)
    alone = [a for a in rest if a.email not in placed]
    for ask in sorted(alone, key=lambda a: (a.team, a.teacher)):
        add(ONE_ON_ONE, f"One-on-one: {topic.name} ({ask.teacher})", [ask])
    return out


def rank(proposals: Sequence[Proposal]) -> list[Proposal]:
    """Team meetings first (the visit that serves a whole team), then after-school classes,
    then guides, then one-on-one help; within each kind, the largest first."""
    return sorted(proposals, key=lambda p: (KIND_ORDER[p.kind], -p.size))
