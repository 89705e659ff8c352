"""The checked config as frozen records: what the rest of pdmail reads, never the YAML."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args
from zoneinfo import ZoneInfo

from ..backends.google.api import GOOGLE_FORMS, GOOGLE_GMAIL, GOOGLE_OAUTH, GOOGLE_SHEETS
from ..backends.microsoft.api import Microsoft
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..backends.smtp import SmtpSettings


@dataclass(frozen=True)
class Librarian:
    name: str
    email: str


@dataclass(frozen=True)
class Sources:
    """``sources``: ``kind`` names a registered source (:mod:`pdmail.backends.registry`;
    ``local`` and ``google`` ship with pdmail); ``options`` holds the keys each source owns,
    checked by it."""

    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def roster(self) -> Path | None:
        return cast("Path | None", self.options.get("roster"))

    @property
    def responses(self) -> Path | None:
        return cast("Path | None", self.options.get("responses"))

    @property
    def roster_sheet(self) -> str | None:
        return cast("str | None", self.options.get("roster_sheet"))

    @property
    def responses_sheet(self) -> str | None:
        return cast("str | None", self.options.get("responses_sheet"))


@dataclass(frozen=True)
class RosterColumns:
    """Which roster header holds each known field (matched trimmed, case-insensitively)."""

    email: str = "Email"
    first_name: str = "First Name"
    last_name: str = "Last Name"
    team: str = "Team"
    active: str = "Active"
    new: str = "New to district"


@dataclass(frozen=True)
class GoogleEndpoints:
    sheets: str = GOOGLE_SHEETS
    gmail: str = GOOGLE_GMAIL
    forms: str = GOOGLE_FORMS
    oauth: str = GOOGLE_OAUTH


@dataclass(frozen=True)
class Google:
    spreadsheet_id: str = ""
    roster_tab: str = "Roster"
    responses_tab: str = "Form Responses 1"
    status_tab: str = "pdmail status"
    digest_tab: str = "pdmail digest"
    needs_tab: str = "pdmail needs"
    client_secret_file: Path | None = None
    token_file: Path | None = None
    service_account_file: Path | None = None
    delegated_user: str = ""
    endpoints: GoogleEndpoints = field(default_factory=GoogleEndpoints)


@dataclass(frozen=True)
class Mail:
    """``mail``: ``kind`` names a registered mailer (:mod:`pdmail.backends.registry`;
    ``outbox``, ``smtp`` and ``gmail`` ship with pdmail), whose pacing is the default of
    ``per_minute`` and ``daily_cap``; ``options`` holds the keys each mailer owns
    (``outbox``, ``smtp``), checked by it."""

    kind: str
    sender_name: str
    reply_to: str
    per_minute: int  # 0: no pacing
    daily_cap: int  # 0: no cap
    lock_wait: int = 300  # seconds a run waits for another run on the same state folder
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outbox(self) -> Path:
        """The outbox folder (``mail.outbox``)."""
        return cast(Path, self.options["outbox"])

    @property
    def smtp(self) -> SmtpSettings | None:
        """The SMTP server (``mail.smtp``), when the config sets one."""
        return cast("SmtpSettings | None", self.options.get("smtp"))


@dataclass(frozen=True)
class FormColumns:
    """Response headers for each role, matched trimmed and case-insensitively."""

    timestamp: str = "Timestamp"
    email: str = "Email Address"
    units: str = "What units of study are coming up?"
    help: str = "How can the library help?"
    format: str = "Preferred format"
    cycle: str = ""


@dataclass(frozen=True)
class Form:
    url: str
    prefill: Mapping[str, str]
    columns: FormColumns
    timestamp_format: str | None
    # How dates whose year is not first are read: auto (the column decides, or a Google
    # Sheet's locale), dmy, mdy or ymd. See pdmail.sources.timestamps.read_column.
    date_order: str = "auto"


@dataclass(frozen=True)
class Window:
    """A one-off campaign's round: the day it opens, its due date, its reminder days and its
    digest day, as the config gives them (each moved to a school day when the cycle is
    worked out). The round is named by the month it opens in (``2027-02``)."""

    opens: date
    due: date
    reminders: tuple[date, ...]
    digest: date


@dataclass(frozen=True)
class Calendar:
    """When a campaign's rounds happen: monthly (``send_day`` and the day counts, in
    ``months``), or, when ``windows`` is not empty, only in those windows."""

    send_day: int = 1
    due_after_days: int = 7
    reminders_after_days: tuple[int, ...] = (4, 8)
    digest_after_days: int = 10
    months: tuple[int, ...] = tuple(range(1, 13))
    skip: tuple[tuple[date, date], ...] = ()
    school_days_only: bool = True
    run_at: str = "07:30"
    year_starts: int = 8
    windows: tuple[Window, ...] = ()

    def is_school_day(self, day: date) -> bool:
        """False on weekends (when ``school_days_only``) and on every skipped date."""
        if self.school_days_only and day.weekday() >= 5:
            return False
        return not any(start <= day <= end for start, end in self.skip)

    def next_school_day(self, day: date) -> date:
        """``day`` itself if pdmail may send on it, else the first day after that is."""
        for _ in range(400):
            if self.is_school_day(day):
                return day
            day += timedelta(days=1)
        raise ConfigError("calendar.skip: no school day in the next 400 days; check the ranges")


STAGES = ("learning", "implementation", "standard")


@dataclass(frozen=True)
class Topic:
    """A topic of the taxonomy. ``stage`` says who does the work on it: ``learning`` (a pilot:
    the integration specialists), ``implementation`` (a roll-out: shared, the specialists
    preparing the librarian), ``standard`` (what every teacher uses: the librarian).
    ``owners`` (specialist addresses) lead it whatever the stage."""

    name: str
    keywords: tuple[str, ...]
    stage: str = "standard"
    owners: tuple[str, ...] = ()
    replaces: str = ""  # a built-in topic this one renames (taking its place)
    keep_keywords: bool = False  # add to the built-in topic's keywords instead of replacing


@dataclass(frozen=True)
class Specialist:
    """A technology integration specialist who gets their own slice of the digest."""

    name: str
    email: str


@dataclass(frozen=True)
class Sessions:
    """When needs on one topic become a group session rather than one-on-one help."""

    team_meeting_min: int = 3
    small_group_min: int = 3


@dataclass(frozen=True)
class DigestSettings:
    out: Path
    needs_file: Path
    trend_cycles: int
    sessions: Sessions
    specialists: tuple[Specialist, ...]
    # How similar (0 to 1) an answer must be to one the librarian corrected to be read the
    # same way (pdmail.digest.corrections).
    learn_threshold: float = 0.5


@dataclass(frozen=True)
class Taxonomy:
    use_defaults: bool = True
    topics: tuple[Topic, ...] = ()


DEFAULT_CAMPAIGN = "monthly-update"
CampaignKind = Literal["update", "survey"]
CAMPAIGN_KINDS: tuple[CampaignKind, ...] = get_args(CampaignKind)


@dataclass(frozen=True)
class Audience:
    """Which roster teachers a campaign writes to: every active teacher, narrowed by
    ``include`` (a teacher must match every column listed, any of its values) and ``exclude``
    (a teacher matching any column listed, any of its values, is left out). Columns are roster
    headers and values are compared trimmed and ignoring case; ``key`` is the config key, for
    messages."""

    include: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[tuple[str, tuple[str, ...]], ...] = ()
    key: str = ""

    @property
    def everyone(self) -> bool:
        return not self.include and not self.exclude

    def describe(self) -> str:
        """The filter in words: ``Team is Grade 6 or Grade 7; not Building Annex``."""
        parts = [f"{col} is {' or '.join(vals)}" for col, vals in self.include]
        parts += [f"not {col} {' or '.join(vals)}" for col, vals in self.exclude]
        return "; ".join(parts) or "every active teacher"


@dataclass(frozen=True)
class SurveyQuestions:
    """A survey Form's questions: the response header of each (``formats``, ``times``,
    ``topics`` are multiple-choice or checkbox questions, ``suggestion`` free text) and the
    choices each offers, as the Form shows them."""

    formats: str
    times: str
    topics: str
    suggestion: str
    choices: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Campaign:
    """One campaign of the config: its own templates, Form, calendar and audience.

    ``kind`` says what its answers become: ``update`` (units of study and needs, the monthly
    digest) or ``survey`` (preferences counted, :mod:`pdmail.campaigns.survey`).
    ``template_set`` names pdmail's built-in templates it falls back on ("" for the monthly
    update's, ``pd-survey`` for the survey's); ``responses`` is where its Form's answers are
    read ("" for the sources' own: a file path for local sources, a tab for Google).
    """

    name: str
    kind: CampaignKind
    form: Form
    calendar: Calendar
    templates: Path | None
    audience: Audience = field(default_factory=Audience)
    template_set: str = ""
    responses: str = ""
    survey: SurveyQuestions | None = None


@dataclass(frozen=True)
class Config:
    """A checked config. Paths are absolute, resolved against the config file's folder."""

    path: Path
    school: str
    timezone: ZoneInfo
    librarian: Librarian
    campaign: str
    sources: Sources
    roster_columns: RosterColumns
    google: Google
    mail: Mail
    form: Form
    calendar: Calendar
    templates: Path | None
    state: Path
    digest: DigestSettings
    taxonomy: Taxonomy
    microsoft: Microsoft = field(default_factory=Microsoft)
    # Every campaign the config defines, the top-level one (``campaign``) first; empty for a
    # Config built in code, which then has the one campaign its top-level settings describe.
    campaigns: tuple[Campaign, ...] = ()
    # The campaign the top-level settings describe (the default of ``--campaign``); ""
    # means ``campaign``.
    main_campaign: str = ""

    @property
    def active_campaign(self) -> Campaign:
        """The campaign this config is for (see :func:`pdmail.config.campaigns.for_campaign`)."""
        for c in self.campaigns:
            if c.name == self.campaign:
                return c
        return Campaign(self.campaign, "update", self.form, self.calendar, self.templates)

    @property
    def default_campaign(self) -> str:
        """The campaign a command works on without ``--campaign``."""
        return self.main_campaign or self.campaign

    @property
    def digest_out(self) -> Path:
        return self.digest.out

    @property
    def folder(self) -> Path:
        return self.path.parent
