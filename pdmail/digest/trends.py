"""Trends across cycles and the year's curriculum map, from every cycle's responses.

Both are pure: they take each cycle's matched responses (oldest first) and count. The
rendering keeps to what survives a mail client: bars are table cells with a width, the
sparkline is a row of block characters that also reads well as plain text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..display import shorten
from ..sources.responses import Collection
from .topics import is_request

NO_TEAM = "(no team)"
_BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(counts: Sequence[int]) -> str:
    """``[0, 2, 5, 3]`` -> ``·▄█▅``: one block per value scaled to the largest, ``·`` for 0."""
    top = max(counts, default=0)
    if top <= 0:
        return "·" * len(counts)
    return "".join(
        "·" if c <= 0 else _BLOCKS[max(0, round(c / top * (len(_BLOCKS) - 1)))] for c in counts
    )


@dataclass(frozen=True)
class TrendPoint:
    """One cycle: how many were asked, how many answered, its most asked-about topics."""

    cycle: str
    asked: int
    answered: int
    top: tuple[tuple[str, int], ...]

    @property
    def rate(self) -> float:
        return self.answered / self.asked if self.asked else 0.0

    @property
    def percent(self) -> int:
        """The response rate as a whole percentage, rounded half up (62.5 -> 63)."""
        return int(self.rate * 100 + 0.5)


@dataclass(frozen=True)
class TopicTrend:
    """How often a topic came up in each cycle of the trend, and its sparkline."""

    topic: str
    counts: tuple[int, ...]

    @property
    def spark(self) -> str:
        return sparkline(self.counts)

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class Trends:
    cycles: tuple[str, ...]
    points: tuple[TrendPoint, ...]
    topics: tuple[TopicTrend, ...]

    @property
    def rate_spark(self) -> str:
        return sparkline([p.percent for p in self.points])


def build_trends(
    collections: Sequence[Collection],
    tag: Callable[[str], tuple[str, ...]],
    asked: Mapping[str, int],
    *,
    top_topics: int = 5,
    known: Mapping[tuple[str, str], tuple[str, ...]] | None = None,
) -> Trends:
    """Response rate and topics for each of ``collections`` (oldest first).

    ``asked`` gives each cycle's number of requests sent (from the ledger); a cycle missing
    from it counts the active teachers it had responses or reminders for. ``known`` gives the
    topics already settled for a (cycle, email) answer (the needs kept, with the librarian's
    corrections); only the other answers are tagged again.
    """
    known = known or {}
    points = []
    per_cycle: list[Counter[str]] = []
    for c in collections:
        name = c.cycle.name
        answered = 0
        # Answers are counted by their topics first: thousands share a few sets of topics.
        # Each topic still comes first where its first answer does (ties in most_common).
        alike: Counter[tuple[str, ...]] = Counter()
        for teacher, response in c.answered:
            answered += teacher.active
            settled = known.get((name, teacher.email))
            if settled is not None:
                alike[tuple(settled)] += 1
            elif is_request(response.help):
                alike[tuple(tag(response.help))] += 1
        counts: Counter[str] = Counter()
        for names, times in alike.items():
            for topic in names:
                counts[topic] += times
        per_cycle.append(counts)
        points.append(
            TrendPoint(
                cycle=c.cycle.name,
                asked=asked.get(c.cycle.name) or answered + len(c.not_answered),
                answered=answered,
                top=tuple(counts.most_common(3)),
            )
        )
    overall: Counter[str] = Counter()
    for counts in per_cycle:
        overall.update(counts)
    topics = tuple(
        TopicTrend(name, tuple(counts[name] for counts in per_cycle))
        for name, _ in overall.most_common(top_topics)
    )
    return Trends(tuple(c.cycle.name for c in collections), tuple(points), topics)


@dataclass(frozen=True)
class YearView:
    """A curriculum map: for each team, the units its teachers named in each cycle."""

    cycles: tuple[str, ...]
    rows: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]  # (team, units per cycle)


def build_year(collections: Sequence[Collection]) -> YearView:
    """The units of study by team and cycle, from ``collections`` (oldest first)."""
    # dict keys keep the order units were first named and drop repeats in constant time.
    teams: dict[str, list[dict[str, None]]] = {}
    # Each answer as the map shows it, "" for none: teachers name the same units month after
    # month, and the same answer is read once.
    shown: dict[str, str] = {}
    for i, c in enumerate(collections):
        for teacher, response in c.answered:
            units = shown.get(response.units)
            if units is None:
                units = shorten(response.units.strip())
                units = shown[response.units] = units if units and is_request(units) else ""
            if not units:
                continue
            team = teacher.team or NO_TEAM
            cells = teams.get(team)
            if cells is None:
                cells = teams[team] = [{} for _ in collections]
            cells[i][units] = None
    return YearView(
        cycles=tuple(c.cycle.name for c in collections),
        rows=tuple(
            (team, tuple(tuple(cell) for cell in cells)) for team, cells in sorted(teams.items())
        ),
    )
