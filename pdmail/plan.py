"""Turning needs into sessions to offer, and saying who leads each.

The way school librarians deliver professional development: most help is one-on-one or in a
small group; a visit to a grade-level team meeting, tailored to that team, serves several
teachers at once better than an all-staff session. So, for each topic, teachers who want help
in a group are first gathered by team (a team meeting once ``team_meeting_min`` of one team
ask), then across teams (an after-school or online class once ``small_group_min`` ask); those
who asked for a written guide share one; everyone else, and everyone who asked for one-on-one
help, gets one-on-one help.

Who leads follows the topic's stage: learning work (a pilot) belongs to the integration
specialists, implementation work is led by the librarian with the specialists preparing them,
standard work is the librarian's. Owners named on a topic lead it whatever the stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .config import Sessions, Specialist, Topic

NO_TEAM = "(no team)"
TEAM_MEETING = "team meeting"
SMALL_GROUP = "small group"
WRITTEN_GUIDE = "written guide"
ONE_ON_ONE = "one-on-one"
KIND_ORDER = {TEAM_MEETING: 0, SMALL_GROUP: 1, WRITTEN_GUIDE: 2, ONE_ON_ONE: 3}


@dataclass(frozen=True)
class Ask:
    """One teacher's open need on one topic, as planning sees it."""

    need_id: str
    email: str
    teacher: str
    team: str
    format: str


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
    group, guide, alone = [], [], []
    for ask in seen.values():
        if ask.format == ONE_ON_ONE:
            alone.append(ask)
        elif ask.format == WRITTEN_GUIDE:
            guide.append(ask)
        else:
            group.append(ask)
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

    by_team: dict[str, list[Ask]] = {}
    for ask in group:
        by_team.setdefault(ask.team, []).append(ask)
    rest: list[Ask] = []
    for team in sorted(by_team):
        members = by_team[team]
        if team != NO_TEAM and len(members) >= sessions.team_meeting_min:
            add(
                TEAM_MEETING,
                f"{team} team meeting: {topic.name} ({plural(len(members), 'teacher')})",
                members,
            )
        else:
            rest.extend(members)
    if len(rest) >= sessions.small_group_min:
        teams = len({a.team for a in rest})
        add(
            SMALL_GROUP,
            f"After-school or online class: {topic.name} "
            f"({plural(len(rest), 'teacher')} from {plural(teams, 'team')})",
            rest,
        )
    else:
        alone.extend(rest)
    if guide:
        add(
            WRITTEN_GUIDE,
            f"Written guide: {topic.name} (for {plural(len(guide), 'teacher')})",
            guide,
        )
    for ask in sorted(alone, key=lambda a: (a.team, a.teacher)):
        add(ONE_ON_ONE, f"One-on-one: {topic.name} ({ask.teacher})", [ask])
    return out


def rank(proposals: Sequence[Proposal]) -> list[Proposal]:
    """Team meetings first (the visit that serves a whole team), then after-school classes,
    then guides, then one-on-one help; within each kind, the largest first."""
    return sorted(proposals, key=lambda p: (KIND_ORDER[p.kind], -p.size))
