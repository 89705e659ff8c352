"""The digest: what the month's answers come to, for the librarian to act on.

:func:`build_digest` is a pure function from the roster, the cycle's collection and the
taxonomy to a :class:`Digest`; rendering and delivery are separate, so scripts can use the
model directly (``pdmail digest --json``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from .responses import Collection
from .roster import Roster
from .topics import Tagger, is_request, normalize_format

NO_TEAM = "(no team)"


@dataclass(frozen=True)
class Need:
    """One request for help pulled out of a response."""

    id: str
    cycle: str
    email: str
    teacher: str
    team: str
    text: str
    topics: tuple[str, ...]
    format: str
    submitted: datetime


@dataclass(frozen=True)
class TeamSummary:
    """A team's response rate and the units of study its teachers named."""

    team: str
    asked: int
    answered: int
    units: tuple[tuple[str, str], ...]  # (teacher, units)

    @property
    def rate(self) -> float:
        return self.answered / self.asked if self.asked else 0.0


@dataclass(frozen=True)
class TopicGroup:
    """The needs that share a topic, with who asked and how they want help."""

    topic: str
    needs: tuple[Need, ...]
    teams: tuple[str, ...]
    formats: tuple[tuple[str, int], ...]
    suggestion: str


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    team: str


@dataclass(frozen=True)
class Stranger:
    """An answer from an address that is not on the roster."""

    email: str
    submitted: datetime
    units: str
    help: str
    row: int


@dataclass(frozen=True)
class Digest:
    school: str
    cycle: str
    generated: datetime
    asked: int
    answered: int
    teams: tuple[TeamSummary, ...]
    topics: tuple[TopicGroup, ...]
    untagged: tuple[Need, ...]
    formats: tuple[tuple[str, int], ...]
    non_responders: tuple[Person, ...]
    strangers: tuple[Stranger, ...]
    problems: tuple[str, ...]

    @property
    def rate(self) -> float:
        return self.answered / self.asked if self.asked else 0.0

    @property
    def needs(self) -> tuple[Need, ...]:
        """Every need once (a need with several topics appears in several groups)."""
        seen: dict[str, Need] = {}
        for group in self.topics:
            for need in group.needs:
                seen.setdefault(need.id, need)
        for need in self.untagged:
            seen.setdefault(need.id, need)
        return tuple(sorted(seen.values(), key=lambda n: (n.team, n.teacher, n.id)))


def need_id(campaign: str, cycle: str, email: str) -> str:
    """A need's stable id: the same for the same campaign, cycle and teacher."""
    return hashlib.sha256(f"{campaign}\x1f{cycle}\x1f{email}".encode()).hexdigest()[:10]


def suggest(needs: tuple[Need, ...], topic: str) -> str:
    """A first proposal for a topic: a team meeting when three or more teachers of one team
    ask, a small group when three or more ask across teams, one-on-one otherwise."""
    by_team = Counter(n.team for n in needs)
    team, most = by_team.most_common(1)[0]
    if most >= 3 and team != NO_TEAM:
        return f"{team} team meeting: {topic} ({most} teachers)"
    if len(needs) >= 3:
        teams = len(by_team)
        return f"Small group: {topic} ({len(needs)} teachers from {teams} team{'s' * (teams > 1)})"
    names = ", ".join(n.teacher for n in needs)
    return f"One-on-one: {topic} ({names})"


def build_digest(
    roster: Roster,
    collection: Collection,
    tagger: Tagger,
    *,
    school: str,
    campaign: str,
    generated: datetime,
) -> Digest:
    """Compile the digest of ``collection`` (pure: no I/O, ``generated`` is given)."""
    cycle = collection.cycle.name
    needs: list[Need] = []
    for teacher, response in collection.answered:
        if not is_request(response.help):
            continue
        needs.append(
            Need(
                id=need_id(campaign, cycle, teacher.email),
                cycle=cycle,
                email=teacher.email,
                teacher=teacher.display_name,
                team=teacher.team or NO_TEAM,
                text=response.help.strip(),
                topics=tagger.tag(response.help),
                format=normalize_format(response.format),
                submitted=response.submitted,
            )
        )
    groups = []
    for topic in tagger.topics:
        members = tuple(n for n in needs if topic.name in n.topics)
        if not members:
            continue
        formats = Counter(n.format for n in members if n.format)
        groups.append(
            TopicGroup(
                topic=topic.name,
                needs=members,
                teams=tuple(sorted({n.team for n in members})),
                formats=tuple(formats.most_common()),
                suggestion=suggest(members, topic.name),
            )
        )
    groups.sort(key=lambda g: -len(g.needs))  # stable: ties keep taxonomy order
    answered = {t.email for t, _ in collection.answered}
    teams: dict[str, list[int]] = {}
    units: dict[str, list[tuple[str, str]]] = {}
    for teacher in roster.active:
        team = teacher.team or NO_TEAM
        counts = teams.setdefault(team, [0, 0])
        counts[0] += 1
        counts[1] += teacher.email in answered
    for teacher, response in collection.answered:
        if response.units.strip() and is_request(response.units):
            team = teacher.team or NO_TEAM
            units.setdefault(team, []).append((teacher.display_name, response.units.strip()))
    return Digest(
        school=school,
        cycle=cycle,
        generated=generated,
        # Inactive teachers were not asked: their answers are listed but not counted.
        asked=sum(t.active for t, _ in collection.answered) + len(collection.not_answered),
        answered=sum(t.active for t, _ in collection.answered),
        teams=tuple(
            TeamSummary(team, asked, got, tuple(units.get(team, ())))
            for team, (asked, got) in sorted(teams.items())
        ),
        topics=tuple(groups),
        untagged=tuple(n for n in needs if not n.topics),
        formats=tuple(Counter(n.format for n in needs if n.format).most_common()),
        non_responders=tuple(
            Person(t.email, t.display_name, t.team or NO_TEAM) for t in collection.not_answered
        ),
        strangers=tuple(
            Stranger(r.email, r.submitted, r.units, r.help, r.row) for r in collection.strangers
        ),
        problems=tuple(str(p) for p in collection.problems),
    )


def digest_rows(digest: Digest) -> tuple[list[str], list[list[str]]]:
    """The digest's needs as a header and rows (one per need and topic), for a sheet tab or
    a CSV file; an untagged need appears once, under ``(no topic)``."""
    header = ["Cycle", "Topic", "Suggested session", "Teacher", "Email", "Team",
              "Preferred format", "Request", "Need id"]  # fmt: skip
    rows: list[list[str]] = []
    groups = [(g.topic, g.suggestion, g.needs) for g in digest.topics]
    groups.append(("(no topic)", "", digest.untagged))
    for topic, suggestion, needs in groups:
        for n in needs:
            rows.append([digest.cycle, topic, suggestion, n.teacher, n.email, n.team, n.format,
                         n.text, n.id])  # fmt: skip
    return header, rows
