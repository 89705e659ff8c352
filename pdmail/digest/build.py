"""The digest: the month's answers turned into a plan the librarian can act on.

:func:`build_digest` is a pure function of the roster, the cycle's matched responses, the
needs kept so far, earlier cycles and the settings; it returns a :class:`Digest` that the
templates render and ``pdmail digest --json`` prints. Rendering and delivery live elsewhere.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

from ..config.records import Sessions, Specialist
from ..cycles import months_between, school_year, shift
from ..display import NAME_LIMIT, shorten
from ..models import KINDS, LEARNING, LESSON, TASK, NeedKind, Teacher
from ..sources.responses import Collection
from ..sources.roster import Roster
from ..state.needs import ByKind, NeedRecord, NeedStatus
from .corrections import DEFAULT_THRESHOLD, Reading, SchoolReader, own_correction
from .plan import NO_TEAM, Ask, Proposal, ownership, propose, rank
from .reading import asks_team_visit, kinds_of, sentence_kinds, topics_by_kind
from .taxonomy import BOOKING, DEFAULT_TOPICS, LESSONS, PRINTING
from .todo import TaskGroup, by_date, group_tasks
from .topics import Evidence, Tagger, is_request, normalize_formats, split_formats
from .trends import Trends, YearView, build_trends, build_year
from .when import NO_DATE, Wanted, wanted_in


@dataclass(frozen=True)
class Need:
    """One request for help, with where it stands."""

    id: str
    cycle: str
    email: str
    teacher: str
    team: str
    text: str
    topics: tuple[str, ...]
    format: str
    submitted: datetime | None = None
    status: NeedStatus = "open"
    note: str = ""
    first_seen: date | None = None
    age: int = 0  # cycles since the need was first asked (0: this cycle)
    kinds: tuple[NeedKind, ...] = ()  # in pdmail.digest.reading.KINDS order; () when unknown
    evidence: Evidence = ()  # each topic with the words that decided it
    units: str = ""  # the teacher's units of study, as they wrote them (shortened)
    wanted: Wanted = NO_DATE  # the dates the answer asks for (pdmail.digest.when)
    # the needs inside the answer: each kind asked with the topics it is about
    by_kind: tuple[tuple[NeedKind, tuple[str, ...]], ...] = ()
    # what the librarian's corrections changed in pdmail's reading, in words (corrections.py)
    learned: tuple[str, ...] = ()

    def topics_for(self, kind: NeedKind) -> tuple[str, ...]:
        """The topics this need's ``kind`` of help is about (all its topics when the answer
        was not read sentence by sentence)."""
        if not self.by_kind:
            return self.topics if kind in self.kinds else ()
        # A loop, not next() over a generator: planning asks this of every open need.
        for k, topics in self.by_kind:
            if k == kind:
                return topics
        return ()

    @property
    def formats(self) -> tuple[str, ...]:
        """Every format the teacher ticked (``format`` joins them with ", ")."""
        return split_formats(self.format)


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
    """The needs that share a topic, with who asked, how they want help, and who leads."""

    topic: str
    needs: tuple[Need, ...]
    teams: tuple[str, ...]
    formats: tuple[tuple[str, int], ...]
    suggestion: str
    stage: str = "standard"
    lead: str = ""
    support: str = ""


@dataclass(frozen=True)
class Person:
    email: str
    name: str
    team: str


@dataclass(frozen=True)
class Stranger:
    """An answer from an address that is not on the roster (or from a name typed where the
    address belongs). ``probably`` names the roster teacher it most likely is
    (``Ann Lee <ann@school.org>``), or is ``""``; it is a suggestion, never a match."""

    email: str
    submitted: datetime
    units: str
    help: str
    row: int
    probably: str = ""


@dataclass(frozen=True)
class FirstHand:
    """A teacher to reach first: new to the district, or asking again for help not yet given."""

    email: str
    name: str
    team: str
    reason: str
    answered: bool
    needs: tuple[str, ...]


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
    proposals: tuple[Proposal, ...] = ()
    first_hand: tuple[FirstHand, ...] = ()
    carried_over: tuple[Need, ...] = ()
    done: int = 0  # needs marked done this school year
    total_needs: int = 0  # needs asked this school year
    trends: Trends | None = None
    year: YearView | None = None
    leads: tuple[str, ...] = ()  # everyone who leads or supports a proposal
    audience: str = ""  # "" for the librarian, else the specialist's name
    no_need: tuple[Person, ...] = ()  # answered, asking for nothing this month
    # the school's names for built-in topics it renamed (``replaces``), for the to-do groups
    renamed: tuple[tuple[str, str], ...] = ()

    @property
    def rate(self) -> float:
        return self.answered / self.asked if self.asked else 0.0

    @functools.cached_property  # the templates ask for it (and for what it feeds) often
    def needs(self) -> tuple[Need, ...]:
        """This cycle's needs, each once (a need with several topics is in several groups)."""
        seen: dict[str, Need] = {}
        for group in self.topics:
            for need in group.needs:
                if need.cycle == self.cycle:
                    seen.setdefault(need.id, need)
        for need in self.untagged:
            seen.setdefault(need.id, need)
        return tuple(sorted(seen.values(), key=lambda n: (n.team, n.teacher, n.id)))

    @functools.cached_property
    def to_do_groups(self) -> tuple[TaskGroup, ...]:
        """This cycle's open tasks as the to-do list (:func:`pdmail.digest.todo.group_tasks`): books
        to pull or order (by team and unit), fixes, bookings, accounts, printing, other
        tasks; each task once, each group by the date needed."""
        tasks = (n for n in self.needs if n.status == "open" and TASK in n.kinds)
        return group_tasks(tasks, dict(self.renamed))

    @functools.cached_property  # as needs: every template asks, and the summary too
    def to_do(self) -> tuple[Need, ...]:
        """This cycle's open needs that ask the librarian to do something (tasks), each once,
        group after group of :attr:`to_do_groups`."""
        return tuple(n for g in self.to_do_groups for n in g.needs)

    @functools.cached_property
    def lessons(self) -> tuple[Need, ...]:
        """This cycle's open needs that ask for a lesson with students, by the date wanted
        (undated last)."""
        return by_date(n for n in self.needs if n.status == "open" and LESSON in n.kinds)

    @property
    def summary(self) -> dict[str, int]:
        """The month in numbers: sessions to offer, tasks to do, lessons to schedule, needs,
        and answers asking for nothing."""
        return {
            "sessions": len(self.proposals),
            "tasks": len(self.to_do),
            "lessons": len(self.lessons),
            "needs": len(self.needs),
            "no_need": len(self.no_need),
        }


def _named(teacher: Teacher | None) -> str:
    return f"{teacher.display_name} <{teacher.email}>" if teacher is not None else ""


def need_id(campaign: str, cycle: str, email: str) -> str:
    """A need's stable id: the same for the same campaign, cycle and teacher."""
    return hashlib.sha256(f"{campaign}\x1f{cycle}\x1f{email}".encode()).hexdigest()[:10]


def read_kinds(text: str, topics: Sequence[str]) -> tuple[NeedKind, ...]:
    """The kinds of help ``text`` asks for (:func:`pdmail.digest.reading.kinds_of`); a space to
    reserve or printing to do is a task for the librarian whatever the wording."""
    kinds = kinds_of(text)
    if TASK not in kinds and {BOOKING, PRINTING} & set(topics):
        kinds = tuple(k for k in (TASK, LEARNING, LESSON) if k in kinds or k == TASK)
    return kinds


# A class the librarian teaches (not one student, a club or office hours): the lessons topic.
_CLASS_LESSON = re.compile(
    r"\b(?:my|our|the|his|her|their|\d+|all\s+my|each)\s+(?:\w+\s+){0,2}?(?:class|classes|"
    r"periods?|sections?|graders|students|kids|kiddos|kinders|scholars)\b|\bclass\s+period\b|"
    r"\blessons?\b|\bco.?teach|\bco.?plan|\bbook.?talks?\b|\bread.?alouds?\b|\borientation\b",
    re.IGNORECASE,
)


def lessons_agree(text: str, evidence: Evidence, tagger: Tagger) -> Evidence:
    """``evidence`` with the lessons topic (:data:`pdmail.digest.taxonomy.LESSONS`) only where the
    answer asks for a lesson: "the Common Sense lessons are dated" names lessons but asks for
    none, and "Could you do a 1-period workshop for my AP Sem kids?" asks for one without the
    word. A school that dropped the topic gets nothing added."""
    kinds = kinds_of(text)
    topics = [name for name, _ in evidence]
    if LESSONS in topics and LESSON not in kinds:
        return tuple((name, words) for name, words in evidence if name != LESSONS)
    if LESSONS in topics or LESSON not in kinds:
        return evidence
    order = {t.name: i for i, t in enumerate(tagger.topics)}
    if LESSONS in order:
        sentence = next(
            (s for s, ks in sentence_kinds(text) if LESSON in ks and _CLASS_LESSON.search(s)),
            None,
        )
        if sentence is not None:
            words = shorten(" ".join(sentence.split()), 60)
            found = dict(evidence)
            found[LESSONS] = (words,)
            return tuple(sorted(found.items(), key=lambda kv: order.get(kv[0], len(order))))
    return evidence


def split_by_kind(
    text: str, evidence: Evidence, kinds: Sequence[NeedKind] | None = None
) -> tuple[tuple[NeedKind, tuple[str, ...]], ...]:
    """Each kind of help ``text`` asks for with the topics it is about
    (:func:`pdmail.digest.reading.topics_by_kind`): the kinds :func:`read_kinds` finds, or
    ``kinds`` when they are given (the librarian's); a kind no sentence names gets all the
    topics."""
    split = dict(topics_by_kind(text, evidence))
    everything = tuple(name for name, _ in evidence)
    if kinds is None:
        kinds = read_kinds(text, everything)
    return tuple((k, split.get(k, everything)) for k in kinds)


def current_needs(
    collection: Collection,
    tagger: Tagger,
    campaign: str,
    needs: Sequence[NeedRecord] = (),
    learn_threshold: float = DEFAULT_THRESHOLD,
) -> list[Need]:
    """The needs in a cycle's answers, each with its kinds, topics and the words behind
    each topic (answers asking for nothing are answered, not needs: they are left out).

    What the librarian's corrections among ``needs`` (the needs kept so far) teach is
    applied: a similar answer is read the way they corrected one
    (:class:`pdmail.digest.corrections.SchoolReader`; ``learn_threshold`` is how similar). A
    corrected need's own correction is applied by :func:`build_digest`: these needs are
    pdmail's reading, as the needs table keeps it."""
    cycle = collection.cycle.name
    asking = [(t, r) for t, r in collection.answered if is_request(r.help)]
    school = SchoolReader(needs, tagger, (r.help for _, r in asking), learn_threshold)
    out = []
    for teacher, response in asking:
        evidence = lessons_agree(response.help, tagger.explain(response.help), tagger)
        by_kind = split_by_kind(response.help, evidence)
        need = Need(
            id=need_id(campaign, cycle, teacher.email),
            cycle=cycle,
            email=teacher.email,
            teacher=teacher.display_name,
            team=teacher.team or NO_TEAM,
            text=shorten(response.help.strip()),
            topics=tuple(name for name, _ in evidence),
            format=normalize_formats(response.format),
            submitted=response.submitted,
            kinds=tuple(k for k, _ in by_kind),
            evidence=evidence,
            by_kind=by_kind,
            # "n/a" or "-" names no unit: books to pull then go under "(no unit named)".
            units=shorten(response.units.strip()) if is_request(response.units) else "",
            wanted=wanted_in(response.help, response.submitted, cycle),
        )
        reading = school.read(need.id, response.help, evidence, need.kinds)
        out.append(need if reading is None else _relearned(need, reading, response.help))
    return out


def _relearned(need: Need, reading: Reading, text: str) -> Need:
    """``need`` as the school's corrections read it: their topics, kinds and evidence, each
    kind keeping the topics its sentences name (all of them where none does)."""
    return replace(
        need,
        topics=reading.topics,
        kinds=reading.kinds,
        evidence=reading.evidence,
        by_kind=split_by_kind(text, reading.evidence, reading.kinds),
        learned=reading.learned,
    )


def carried_by_kind(
    tagger: Tagger, text: str, topics: Sequence[str], kinds: Sequence[NeedKind]
) -> ByKind:
    """Which topics each kind of help of a kept need (its stored text, topics and kinds) is
    about, as the digest reads a need carried over (:func:`split_by_kind`)."""
    return split_by_kind(text, _stored_evidence(tagger, text, topics), kinds)


# The code a reading depends on (the modules of the reading rules, and here the functions a
# carried need is read by): a pdmail that reads differently reads kept needs again.
_READING_MODULES = ("reading.py", "topics.py", "taxonomy.py", "prefilter.py")


@functools.cache
def _code_stamp() -> bytes:
    digest = hashlib.sha256(repr(KINDS).encode())
    try:
        for name in _READING_MODULES:
            digest.update((Path(__file__).parent / name).read_bytes())
        import inspect  # only here: it takes a while to import

        for function in (carried_by_kind, split_by_kind, _stored_evidence, read_kinds):
            digest.update(inspect.getsource(function).encode())
    except (OSError, TypeError):  # no source at hand: the version stands for it
        digest.update(_version().encode())
    return digest.digest()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pdmail")
    except PackageNotFoundError:
        return "?"


def reading_key(tagger: Tagger, text: str, topics: Sequence[str], kinds: Sequence[NeedKind]) -> str:
    """The key :func:`carried_by_kind`'s reading is kept under
    (:meth:`pdmail.state.needs.NeedStore.keep_readings`): a hash of everything it depends on,
    the taxonomy and pdmail's reading rules included."""
    return _reading_key(tagger.fingerprint(), text, tuple(topics), tuple(kinds))


# A digest asks for the key of each carried need three times (to look its reading up, to use
# it, and to keep it): each is hashed once.
@functools.lru_cache(maxsize=1 << 16)
def _reading_key(
    fingerprint: bytes, text: str, topics: tuple[str, ...], kinds: tuple[str, ...]
) -> str:
    digest = _key_start(fingerprint).copy()
    digest.update("\x1f".join((text, "\x1e".join(topics), "\x1e".join(kinds))).encode())
    return digest.hexdigest()[:32]


@functools.lru_cache(maxsize=16)
def _key_start(fingerprint: bytes) -> hashlib._Hash:
    """The hash of a reading key as far as the rules and the taxonomy (copied, never
    updated: a digest makes a key for each of tens of thousands of carried needs)."""
    digest = hashlib.sha256(_code_stamp())
    digest.update(fingerprint)
    return digest


def _stored_evidence(tagger: Tagger, text: str, topics: Sequence[str]) -> Evidence:
    """A kept need's topics (as stored: the librarian may have changed them) with the words
    the tagger finds for them in its text today, if any."""
    found = dict(tagger.explain(text))
    return tuple((t, tuple(found.get(t, ()))) for t in topics)


def _one_topic_each(needs: Sequence[Need], order: Sequence[str]) -> dict[str, str]:
    """The one topic each need is planned under (a need sits in one proposal): of the topics
    its learning is about, the one most of these needs share, so that sessions gather as many
    teachers as they can; ties go to the first in ``order``."""
    rank_of = {name: i for i, name in enumerate(order)}
    # What the teacher wants to learn, not the books or the booking asked for beside it.
    asked = {n.id: [t for t in (n.topics_for(LEARNING) or n.topics) if t in rank_of] for n in needs}
    shared = Counter(t for n in needs for t in set(asked[n.id]))
    return {
        n.id: min(asked[n.id], key=lambda t: (-shared[t], rank_of[t])) for n in needs if asked[n.id]
    }


def _suggestion(group: TopicGroup, ranked: Sequence[Proposal], served: Mapping[str, int]) -> str:
    """The first proposal that serves one of the group's needs, or why there is none
    (``served``: the index in ``ranked`` of the first proposal serving each need)."""
    first = min((served[n.id] for n in group.needs if n.id in served), default=None)
    if first is not None:
        return ranked[first].title
    if any(n.status == "open" and LEARNING in n.kinds for n in group.needs):
        return "all scheduled or done"
    return "no session: tasks and lessons only, or all scheduled or done"


def _format_counts(needs: Sequence[Need]) -> tuple[tuple[str, int], ...]:
    """How many needs chose each format (a need that ticked several counts for each); equal
    counts in the order the formats first come up."""
    # Split each distinct format cell once: thousands of needs tick the same few.
    counts: Counter[str] = Counter()
    for cell, times in Counter(n.format for n in needs).items():
        for f in split_formats(cell):
            counts[f] += times
    return tuple(counts.most_common())


def as_records(needs: Sequence[Need], campaign: str) -> list[NeedRecord]:
    """Needs as the needs store keeps them (status left to the store)."""
    return [
        NeedRecord(
            n.id,
            campaign,
            n.cycle,
            n.email,
            n.teacher,
            n.team,
            n.text,
            n.topics,
            n.format,
            kinds=n.kinds,
        )
        for n in needs
    ]


def build_digest(
    roster: Roster,
    collection: Collection,
    tagger: Tagger,
    *,
    school: str,
    campaign: str,
    generated: datetime,
    needs: Sequence[NeedRecord] = (),
    history: Sequence[Collection] = (),
    asked: Mapping[str, int] | None = None,
    sessions: Sessions = Sessions(),  # noqa: B008 - frozen
    specialists: Sequence[Specialist] = (),
    librarian: str = "the librarian",
    year_starts: int = 8,
    trend_cycles: int = 6,
    current: Sequence[Need] | None = None,
    learn_threshold: float = DEFAULT_THRESHOLD,
    readings: Mapping[str, ByKind] | None = None,
) -> Digest:
    """Compile the digest of ``collection`` (pure: no I/O; ``generated`` is given).

    ``needs`` is the needs store (every cycle, with statuses); ``history`` the earlier
    cycles' collections, oldest first, for trends and the year view; ``asked`` the number of
    requests sent per cycle, from the ledger; ``current`` the cycle's needs if the caller has
    already tagged them (:func:`current_needs`), else they are read here, with the
    librarian's corrections kept in ``needs`` (``learn_threshold``: see
    :mod:`pdmail.digest.corrections`). ``readings`` are carried needs' readings kept by
    :func:`reading_key` (:func:`carried_by_kind`); a need without one is read here.
    """
    cycle = collection.cycle.name
    if current is None:
        current = current_needs(collection, tagger, campaign, needs, learn_threshold)
    past = [c for c in history if c.cycle.name < cycle]
    trend_span = [*past[-(trend_cycles - 1) :], collection] if trend_cycles > 1 else [collection]
    trend_names = {c.cycle.name for c in trend_span}
    year_key = school_year(cycle, year_starts)
    # A year of needs is gone through once, for everything the digest takes from it: each of
    # this month's needs as kept, the needs carried over, the year's count of needs and of
    # needs done, the topics kept for the trend's months and each teacher's unmet needs.
    wanted = {n.id for n in current}
    status: dict[str, NeedRecord] = {}
    in_year: dict[str, bool] = {}  # each cycle's school year is reckoned once
    year_ids: set[str] = set()
    done = 0
    known: dict[tuple[str, str], tuple[str, ...]] = {}
    unmet: dict[str, list[NeedRecord]] = {}
    earlier: list[NeedRecord] = []
    for r in needs:
        if r.id in wanted:
            status[r.id] = r
        this_year = in_year.get(r.cycle)
        if this_year is None:
            this_year = in_year[r.cycle] = school_year(r.cycle, year_starts) == year_key
        if this_year:
            year_ids.add(r.id)
            done += r.status == "done"
        if r.cycle in trend_names:
            known[(r.cycle, r.email)] = r.topics
        if r.cycle < cycle and r.status != "done":
            earlier.append(r)
            unmet.setdefault(r.email, []).append(r)
    fresh = []
    order = [t.name for t in tagger.topics]
    for n in current:
        kept = status.get(n.id)
        if kept is not None:
            n = replace(n, status=kept.status, note=kept.note, first_seen=kept.first_seen)
            # The librarian's correction of this very need holds over any reading of it.
            fixed = own_correction(kept, order, n.evidence, n.kinds, n.learned)
            n = n if fixed is None else _relearned(n, fixed, n.text)
        fresh.append(n)
    # Which topics its learning is about matters only to a need still to plan: the rest are
    # not read again (a school's years of kept needs would cost seconds every digest).
    kept_readings = readings or {}

    def carried_reading(text: str, topics: tuple[str, ...], kinds: tuple[NeedKind, ...]) -> ByKind:
        if kept_readings:
            kept = kept_readings.get(reading_key(tagger, text, topics, kinds))
            if kept is not None:
                return kept
        return carried_by_kind(tagger, text, topics, kinds)

    # A kept need goes by the kinds it was kept with (the librarian's, if corrected); only
    # one kept before kinds were is read again. Each is made whole at once: a year of needs
    # carried over is tens of thousands.
    ages: dict[str, int] = {}
    carried = []
    for r in earlier:
        kinds = r.kinds or read_kinds(r.text, r.topics)
        age = ages.get(r.cycle)
        if age is None:
            age = ages[r.cycle] = months_between(cycle, r.cycle)
        plan = r.status == "open" and LEARNING in kinds
        carried.append(
            Need(r.id, r.cycle, r.email, r.teacher, r.team, r.text, r.topics, r.format,
                 status=r.status, note=r.note, first_seen=r.first_seen, age=age,
                 kinds=kinds, by_kind=carried_reading(r.text, r.topics, kinds) if plan else ())
        )  # fmt: skip
    carried.sort(key=lambda n: (-n.age, n.team, n.teacher))
    # Newest first, as propose() expects: a teacher's latest open need decides their format.
    # Only learning is planned as sessions: tasks are done and lessons scheduled, not PD.
    live = [
        n
        for n in (*fresh, *sorted(carried, key=lambda n: n.age))
        if n.status == "open" and LEARNING in n.kinds
    ]

    # The school's own topics first: on a tie, they are the more specific.
    own = [t.name for t in tagger.topics if t not in DEFAULT_TOPICS]
    home = _one_topic_each(live, [*own, *(t.name for t in tagger.topics if t.name not in own)])
    # Each topic's needs and each topic's learning asks, in one pass (in the needs' order).
    by_topic: dict[str, list[Need]] = {}
    for n in (*fresh, *carried):
        for name in dict.fromkeys(n.topics):
            by_topic.setdefault(name, []).append(n)
    homed: dict[str, list[Need]] = {}
    for n in live:
        if n.id in home:
            homed.setdefault(home[n.id], []).append(n)
    groups, proposals, leads = [], [], []
    for topic in tagger.topics:
        members = tuple(by_topic.get(topic.name, ()))
        if not members:
            continue
        lead = ownership(topic, specialists, librarian)
        asks = [Ask(n.id, n.email, n.teacher, n.team, n.format, asks_team_visit(n.text))
                for n in homed.get(topic.name, ())]  # fmt: skip
        made = propose(topic, asks, sessions, lead)
        proposals.extend(made)
        if made:
            for who in lead.people:
                if who not in leads:
                    leads.append(who)
        groups.append(
            TopicGroup(
                topic=topic.name,
                needs=members,
                teams=tuple(sorted({n.team for n in members})),
                formats=_format_counts(members),
                suggestion="",
                stage=topic.stage,
                lead=lead.lead,
                support=lead.support,
            )
        )
    ranked = rank(proposals)
    # Where each need is first served in the ranked proposals: a group's suggestion is the
    # first proposal serving any of its needs.
    served: dict[str, int] = {}
    for i, p in enumerate(ranked):
        for need_id in p.need_ids:
            served.setdefault(need_id, i)
    groups = [replace(g, suggestion=_suggestion(g, ranked, served)) for g in groups]
    groups.sort(key=lambda g: -len(g.needs))  # stable: ties keep taxonomy order

    answered_active = {t.email for t, _ in collection.answered if t.active}
    teams: dict[str, list[int]] = {}
    units: dict[str, list[tuple[str, str]]] = {}
    for teacher in roster.active:
        counts = teams.setdefault(teacher.team or NO_TEAM, [0, 0])
        counts[0] += 1
        counts[1] += teacher.email in answered_active
    for teacher, response in collection.answered:
        if response.units.strip() and is_request(response.units):
            units.setdefault(teacher.team or NO_TEAM, []).append(
                (teacher.display_name, shorten(response.units.strip()))
            )

    year_ids.update(n.id for n in fresh)
    known.update({(n.cycle, n.email): n.topics for n in fresh})
    in_year_past = [c for c in past if school_year(c.cycle.name, year_starts) == year_key]
    return Digest(
        school=school,
        cycle=cycle,
        generated=generated,
        # Inactive teachers were not asked: their answers are listed but not counted.
        asked=len(answered_active) + len(collection.not_answered),
        answered=len(answered_active),
        teams=tuple(
            TeamSummary(team, n_asked, got, tuple(units.get(team, ())))
            for team, (n_asked, got) in sorted(teams.items())
        ),
        topics=tuple(groups),
        untagged=tuple(n for n in fresh if not n.topics),
        formats=_format_counts(fresh),
        non_responders=tuple(
            Person(t.email, t.display_name, t.team or NO_TEAM) for t in collection.not_answered
        ),
        no_need=tuple(
            Person(t.email, t.display_name, t.team or NO_TEAM)
            for t, r in sorted(collection.answered, key=lambda a: (a[0].team, a[0].display_name))
            if not is_request(r.help)
        ),
        strangers=tuple(
            Stranger(
                shorten(r.email, NAME_LIMIT),
                r.submitted,
                shorten(r.units),
                shorten(r.help),
                r.row,
                _named(collection.probably(r)),
            )
            for r in collection.strangers
        ),
        problems=tuple(str(p) for p in collection.problems),
        proposals=tuple(ranked),
        first_hand=_first_hand(roster, collection, fresh, unmet),
        carried_over=tuple(carried),
        done=done,
        total_needs=len(year_ids),
        trends=build_trends(trend_span, tagger.tag, asked or {}, known=known),
        year=build_year([*in_year_past, collection]),
        leads=tuple(leads),
        renamed=tuple((t.name, t.replaces) for t in tagger.topics if t.replaces),
    )


def first_hand(
    roster: Roster, collection: Collection, fresh: Sequence[Need], needs: Sequence[NeedRecord]
) -> tuple[FirstHand, ...]:
    """Teachers new to the district, then anyone asking again for a topic they asked for in
    an earlier cycle that is still not done (or, when neither need has a topic, asking two
    cycles running)."""
    cycle = collection.cycle.name
    unmet: dict[str, list[NeedRecord]] = {}
    for r in needs:
        if r.cycle < cycle and r.status != "done":
            unmet.setdefault(r.email, []).append(r)
    return _first_hand(roster, collection, fresh, unmet)


def _first_hand(
    roster: Roster,
    collection: Collection,
    fresh: Sequence[Need],
    unmet: Mapping[str, Sequence[NeedRecord]],
) -> tuple[FirstHand, ...]:
    """:func:`first_hand`, given each teacher's needs kept from earlier cycles and not done
    (in the needs' order)."""
    answered = {t.email for t, _ in collection.answered}
    asks = {n.email: n for n in fresh}
    out = []
    for t in roster.active:
        if t.new:
            need = asks.get(t.email)
            out.append(FirstHand(t.email, t.display_name, t.team or NO_TEAM,
                                 "new to the district", t.email in answered,
                                 (need.text,) if need else ()))  # fmt: skip
    previous = shift(collection.cycle.name, -1)
    new_ones = {f.email for f in out}
    active = {t.email for t in roster.active}
    for n in fresh:
        if n.email in new_ones or n.email not in active:
            continue
        # The earliest open need on a topic asked again; without topics, last cycle's need.
        mine = set(n.topics)
        for before in sorted(unmet.get(n.email, ()), key=lambda r: r.cycle):
            if mine.intersection(before.topics) or (
                not before.topics and not mine and before.cycle == previous
            ):
                topics = ", ".join(t for t in n.topics if t in before.topics) or "help"
                out.append(FirstHand(n.email, n.teacher, n.team,
                                     f"asked in {before.cycle} and again now ({topics}), "
                                     "still not done", True, (before.text, n.text)))  # fmt: skip
                break
    return tuple(out)


def for_specialist(digest: Digest, specialist: Specialist) -> Digest:
    """The part of ``digest`` a specialist leads or supports: their proposals, the topics
    behind them and the open needs on those topics. Everything else is left out."""
    email = specialist.email.lower()
    mine = tuple(p for p in digest.proposals if email in p.specialists)
    topics = {p.topic for p in mine}
    return replace(
        digest,
        proposals=mine,
        topics=tuple(g for g in digest.topics if g.topic in topics),
        untagged=(),
        non_responders=(),
        strangers=(),
        problems=(),
        first_hand=(),
        no_need=(),
        carried_over=tuple(n for n in digest.carried_over if topics & set(n.topics)),
        year=None,
        audience=specialist.name,
    )


def digest_rows(digest: Digest) -> tuple[list[str], list[list[str]]]:
    """The digest's proposals as a header and rows, for a sheet tab or a CSV file."""
    header = ["Cycle", "Session", "Kind", "Topic", "Stage", "Lead", "Support", "Teachers",
              "Teams", "Need ids"]  # fmt: skip
    rows = [
        [digest.cycle, p.title, p.kind, p.topic, p.stage, p.lead, p.support,
         ", ".join(p.teachers), ", ".join(p.teams), " ".join(p.need_ids)]
        for p in digest.proposals
    ]  # fmt: skip
    return header, rows
