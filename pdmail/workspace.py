"""The workspace: one config and everything a run builds from it, each piece loaded lazily."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from .backends import Mailer, ReportSink, TableSource, make_mailer, make_sink, make_source
from .config.load import load_config
from .config.records import Config
from .cycles import Cycle
from .mail.templates import Templates
from .models import Problem, Response, Table
from .sources.answers import Answers, ResponseIndex
from .sources.audience import in_audience
from .sources.responses import Collection, match, read_responses, settle_order
from .sources.roster import Roster, parse_roster
from .state.ledger import Ledger

LEDGER_FILE = "ledger.sqlite3"


class CampaignSink:
    """A sink whose tables are named for one campaign (``pd-survey-status``)."""

    def __init__(self, inner: ReportSink, campaign: str) -> None:
        self.inner = inner
        self.campaign = campaign

    def _name(self, name: str) -> str:
        # The needs table's place is the campaign's own already (for_campaign names it).
        return name if name == "needs" else f"{self.campaign}-{name}"

    def write_table(self, name: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
        return self.inner.write_table(self._name(name), header, rows)

    def read_table(self, name: str) -> Table | None:
        return self.inner.read_table(self._name(name))


def check_audiences(config: Config) -> None:
    """Read the roster once for every campaign of ``config`` whose audience names roster
    columns, raising the :class:`~pdmail.errors.ConfigError` of the first that names a column
    the roster lacks or takes no active teacher in: a run over every campaign checks them all
    before any sends."""
    from .config.campaigns import campaign_names, for_campaign

    for name in campaign_names(config):
        chosen = for_campaign(config, name)
        if not chosen.active_campaign.audience.everyone:
            with Workspace(chosen) as ws:
                ws.roster  # noqa: B018 - read to check the audience


def clock_on(day: date, tz: ZoneInfo) -> Callable[[], datetime]:
    """A clock that reads ``day`` at the current time of day, school time: ``--today``."""

    def clock() -> datetime:
        return datetime.now(tz).replace(year=day.year, month=day.month, day=day.day)

    return clock


class Workspace:
    """What every cycle step works on: config, roster, responses, ledger, templates, mailer.

    Backends, the clock and the pacing timer can be passed in (a script's own mailer, a fixed
    clock in tests);
    by default they come from the config. Use as a context manager to close the ledger.
    """

    def __init__(
        self,
        config: Config,
        *,
        source: TableSource | None = None,
        mailer_factory: Callable[[Config], Mailer] | None = None,
        sink: ReportSink | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._source = source
        self._mailer_factory = mailer_factory or make_mailer
        self._sink = sink
        self._clock = clock
        self.sleep = sleep
        self.monotonic = monotonic

    @classmethod
    def open(
        cls, path: str | os.PathLike[str] | None = None, campaign: str | None = None
    ) -> Workspace:
        """A workspace for the config file at ``path`` (default: ``$PDMAIL_CONFIG`` or
        ``pdmail.yaml``), for its ``campaign`` (default: the top-level one)."""
        from .config.campaigns import for_campaign

        return cls(for_campaign(load_config(path), campaign))

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
            del self.__dict__["ledger"]

    def now(self) -> datetime:
        """The current time in the school's time zone (or the injected clock's).

        This is the one clock of a run: every date pdmail writes (ledger rows, needs and
        their corrections, a message's Date, the digest) and every "today" comes from it,
        so ``--today`` moves them all. The machine's clock is read elsewhere only where real
        time is what matters: a file's modification time is compared with it (an export
        saved before the requests, :mod:`pdmail.cycle.freshness`), credentials expire and servers
        ask for a wait in it (the Google and Microsoft backends), the pacing and lock timers
        measure durations with ``time.monotonic``, and ``pdmail init`` names its backups by it.
        """
        now = self._clock() if self._clock else datetime.now(self.config.timezone)
        return now.astimezone(self.config.timezone)

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.ledger_path)

    @property
    def ledger_path(self) -> Path:
        return self.config.state / LEDGER_FILE

    @cached_property
    def templates(self) -> Templates:
        campaign = self.config.active_campaign
        return Templates(self.config.templates, builtin_set=campaign.template_set)

    @cached_property
    def source(self) -> TableSource:
        return self._source or make_source(self.config)

    @cached_property
    def sink(self) -> ReportSink:
        sink = self._sink or make_sink(self.config, self.source)
        if self.config.campaign != self.config.default_campaign:
            # The campaigns share the state folder and the Sheet: a second campaign's status
            # must not overwrite the first's.
            return CampaignSink(sink, self.config.campaign)
        return sink

    def mailer(self) -> Mailer:
        """A new mailer for one run (open it with ``with``)."""
        return self._mailer_factory(self.config)

    @cached_property
    def roster(self) -> Roster:
        """The teachers of this campaign: the roster, narrowed to the campaign's audience."""
        table = self.source.read_roster()
        roster = parse_roster(table, self.config.roster_columns)
        return in_audience(roster, table, self.config.active_campaign.audience, self.config.path)

    @cached_property
    def responses(self) -> tuple[list[Response], list[Problem]]:
        """Every response read from the export, and the rows that could not be read."""
        answers = self._answers
        if answers is None:
            return [], []
        return answers.all(), list(answers.problems)

    @cached_property
    def _answers(self) -> Answers | None:
        """The export read, its records made as cycles ask for them (None: no export yet)."""
        table = self.source.read_responses()
        if table is None:
            return None
        return read_responses(table, self.config.form, self.config.timezone)

    def collect(self, cycle: Cycle) -> Collection:
        """The cycle's responses matched to the roster (matched once per cycle: the inputs
        are read once too, until :meth:`forget_inputs`)."""
        cache: dict[str, Collection] = self.__dict__.setdefault("_collections", {})
        if cycle.name not in cache:
            answers = self._answers
            problems = answers.problems if answers is not None else []
            if self._order_in_doubt:
                settled, note = settle_order(
                    self.responses[0], now=self.now(), first_request=self._first_request()
                )
                index = ResponseIndex(settled)
            else:  # there is nothing to settle, and no ledger to ask
                index, note = self._response_index, ""
            collection = match(self.roster, index, cycle, problems)
            cache[cycle.name] = replace(collection, notes=(note,)) if note else collection
        return cache[cycle.name]

    @cached_property
    def _response_index(self) -> ResponseIndex:
        """The responses ordered once for the cycles matched this run."""
        answers = self._answers
        return ResponseIndex.of(answers) if answers is not None else ResponseIndex([])

    @cached_property
    def _order_in_doubt(self) -> bool:
        """Whether some response's date could be read day or month first and only when it
        was answered can settle which (see :func:`settle_order`)."""
        return self._answers is not None and self._answers.in_doubt

    def _first_request(self) -> datetime | None:
        """When the campaign's first request was handed over (None before any was, or
        without a ledger yet: reading answers never creates one)."""
        if "ledger" not in self.__dict__ and not self.ledger_path.exists():
            return None
        return self.ledger.first_created(self.config.campaign, "request")

    def forget_inputs(self) -> None:
        """Read the roster and responses again on next use (a long-lived process calls this
        before each tick, since the files or sheet change between days)."""
        cached = ("roster", "_answers", "responses", "_response_index", "_order_in_doubt")
        for name in (*cached, "_collections"):
            self.__dict__.pop(name, None)
