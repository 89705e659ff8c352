"""The config file: loaded once, checked key by key, frozen.

Every error names the file and the key (``pdmail.yaml: calendar.send_day: expected a whole number
from 1 to 28, got 'first'``). Unknown keys are errors too, with the closest known key as a hint,
because a misspelt key silently ignored is a month sent on the wrong day.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..backends.microsoft.api import parse_microsoft
from ..errors import ConfigError
from ..sources.timestamps import date_order
from .reader import KeyProblem, Reader, show_value
from .records import (
    STAGES,
    Calendar,
    Campaign,
    Config,
    DigestSettings,
    Form,
    FormColumns,
    Google,
    GoogleEndpoints,
    Librarian,
    Mail,
    RosterColumns,
    Sessions,
    Sources,
    Specialist,
    Taxonomy,
    Topic,
)
from .yamlfile import YamlProblem, load_yaml, read_text_file

if TYPE_CHECKING:
    pass

CONFIG_ENV = "PDMAIL_CONFIG"
DEFAULT_CONFIG = "pdmail.yaml"
GOOGLE_ENDPOINT_ENV = "PDMAIL_GOOGLE_ENDPOINT"

_ENTRY = re.compile(r"^entry\.\d+$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_GOOGLE_PATHS = ("client_secret_file", "token_file", "service_account_file")


def default_config_path() -> Path:
    """``$PDMAIL_CONFIG`` if set, else ``pdmail.yaml`` in the current folder."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and check the config file at ``path`` (default: :func:`default_config_path`).

    Raises :class:`ConfigError` naming the file for a file that is missing, a folder, not
    text, not valid YAML (the line and what is wrong with it in plain words), a key set twice
    (both lines), empty, or not a mapping of settings; then for any key :func:`parse_config`
    refuses.
    """
    cfg_path = Path(path) if path is not None else default_config_path()
    try:
        text = read_text_file(cfg_path)
    except FileNotFoundError:
        raise ConfigError(
            f"{cfg_path}: no such config file",
            hint="run 'pdmail init' to create one, or pass --config / set PDMAIL_CONFIG",
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{cfg_path}: is a folder, not a config file",
            hint="pass --config with the path of the pdmail.yaml file itself",
        ) from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{cfg_path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} on line {line}, "
            f"byte offset {exc.start})",
            hint="save the file again as UTF-8 text (in Notepad: Save As, Encoding UTF-8)",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{cfg_path}: cannot read the config file ({exc.strerror or exc})"
        ) from None
    lines: dict[str, int] = {}
    try:
        data = load_yaml(text, lines)
    except YamlProblem as exc:
        where = f", line {exc.line}" if exc.line else ""
        column = f" (column {exc.column})" if exc.column else ""
        raise ConfigError(f"{cfg_path}{where}: {exc.message}{column}", hint=exc.hint) from None
    if data is None:
        raise ConfigError(
            f"{cfg_path}: the config file is empty",
            hint="run 'pdmail init' in a new folder for a complete example to copy from",
        )
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{cfg_path}: the config file holds {show_value(data)}, not settings "
            "('key: value' lines such as 'school: ...')",
            hint="run 'pdmail init' in a new folder for a complete example to copy from",
        )
    try:
        return parse_config(data, cfg_path.resolve())
    except KeyProblem as exc:
        # The key's line, so the librarian goes straight to it in a long file.
        key_line = lines.get(exc.key)
        if key_line is None:
            raise
        prefix = f"{cfg_path.resolve().name}: "
        message = exc.message.replace(prefix, f"{prefix[:-2]}, line {key_line}: ", 1)
        raise ConfigError(message, hint=exc.hint) from None


def parse_config(data: Any, path: Path) -> Config:
    """Check a config already parsed from YAML; ``path`` is used for messages and relative paths."""
    r = Reader(path)
    root = r.mapping(data, "")
    r.known(
        root,
        "",
        {
            "school", "timezone", "librarian", "campaign", "sources", "roster", "google",
            "microsoft", "mail", "form", "calendar", "templates", "state", "digest", "taxonomy",
            "campaigns",
        },
    )  # fmt: skip
    school = r.text(root, "school", "", required=True)
    tz_name = r.text(root, "timezone", "", required=True)
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.error(
            "timezone", f"unknown time zone {tz_name!r}", "e.g. America/Chicago"
        ) from None

    lib = r.mapping(root.get("librarian"), "librarian", required=True)
    r.known(lib, "librarian", {"name", "email"})
    librarian = Librarian(
        name=r.text(lib, "name", "librarian", required=True),
        email=r.email(lib, "email", "librarian"),
    )
    campaign = r.text(root, "campaign", "") or "monthly-update"
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", campaign):
        raise r.error("campaign", f"{campaign!r} is not a simple name", "e.g. monthly-update")

    from ..backends import registry

    src = r.mapping(root.get("sources"), "sources", required=True)
    source = r.backend(src, "sources", registry.SOURCES, registry.DEFAULT_SOURCE)
    sources = Sources(source.kind, r.options(src, registry.SOURCES, source))

    roster = r.mapping(root.get("roster"), "roster")
    r.known(roster, "roster", {"columns"})
    rcols = r.mapping(roster.get("columns"), "roster.columns")
    r.known(rcols, "roster.columns", set(RosterColumns.__dataclass_fields__))
    roster_columns = RosterColumns(
        **{k: r.text(rcols, k, "roster.columns", required=True) for k in rcols}
    )

    google = _google(r, root)
    microsoft = parse_microsoft(r, root)
    source.check(r, root)

    mail = _mail(r, root, librarian)
    form = _form(r, root)
    calendar = _calendar(r, root)
    digest = _digest(r, root, path)
    taxonomy = _taxonomy(r, root, {sp.email for sp in digest.specialists})
    templates = _templates_folder(r, root)
    from .campaigns import parse_campaigns

    main = Campaign(campaign, "update", form, calendar, templates)
    return Config(
        path=path,
        school=school,
        timezone=tz,
        librarian=librarian,
        campaign=campaign,
        sources=sources,
        roster_columns=roster_columns,
        google=google,
        mail=mail,
        form=form,
        calendar=calendar,
        templates=templates,
        state=r.folder(root, "state", "") or path.parent / ".pdmail",
        digest=digest,
        taxonomy=taxonomy,
        microsoft=microsoft,
        campaigns=parse_campaigns(r, root, main, sources),
    )


def _templates_folder(r: Reader, root: Mapping[str, Any]) -> Path | None:
    # A folder that is not there must not quietly mean "the defaults": the school's own
    # wording (or its signature, its form link text) would go missing from every message.
    folder = r.path(root, "templates", "")
    if folder is None:
        return None
    if not folder.exists():
        raise r.error(
            "templates",
            f"the folder {folder} does not exist",
            "create it (pdmail init writes the default templates into a new folder), correct "
            "the path, or remove the 'templates' key to use pdmail's own templates",
        )
    if not folder.is_dir():
        raise r.error("templates", f"{folder} is a file, not a folder of templates")
    return folder


def _google(r: Reader, root: Mapping[str, Any]) -> Google:
    g = r.mapping(root.get("google"), "google")
    fields = set(Google.__dataclass_fields__)
    r.known(g, "google", fields)
    ep = r.mapping(g.get("endpoints"), "google.endpoints")
    r.known(ep, "google.endpoints", set(GoogleEndpoints.__dataclass_fields__))
    endpoint_all = os.environ.get(GOOGLE_ENDPOINT_ENV, "").rstrip("/")
    defaults = GoogleEndpoints()
    endpoints = GoogleEndpoints(
        **{
            name: endpoint_all
            or (r.text(ep, name, "google.endpoints") or getattr(defaults, name)).rstrip("/")
            for name in GoogleEndpoints.__dataclass_fields__
        }
    )
    values: dict[str, Any] = {
        k: r.text(g, k, "google") for k in fields - {"endpoints", *_GOOGLE_PATHS} if k in g
    }
    values.update({k: r.path(g, k, "google") for k in _GOOGLE_PATHS})
    if values.get("delegated_user"):
        r.email(g, "delegated_user", "google")
    return Google(**values, endpoints=endpoints)


def _mail(r: Reader, root: Mapping[str, Any], librarian: Librarian) -> Mail:
    from ..backends import registry

    m = r.mapping(root.get("mail"), "mail")
    mailer = r.backend(m, "mail", registry.MAILERS, registry.DEFAULT_MAILER)
    options = r.options(m, registry.MAILERS, mailer)
    mailer.check(r, root)
    reply_to = r.text(m, "reply_to", "mail")
    if reply_to:
        r.email(m, "reply_to", "mail")
    return Mail(
        kind=mailer.kind,
        sender_name=r.text(m, "sender_name", "mail") or librarian.name,
        reply_to=reply_to,
        per_minute=r.integer(m, "per_minute", "mail", mailer.per_minute, 0, 6000),
        daily_cap=r.integer(m, "daily_cap", "mail", mailer.daily_cap, 0, 100000),
        lock_wait=r.integer(m, "lock_wait", "mail", 300, 0, 86400),
        options=options,
    )


def _form(
    r: Reader,
    root: Mapping[str, Any],
    at: str = "form",
    roles: tuple[str, ...] = tuple(FormColumns.__dataclass_fields__),
    extra: frozenset[str] = frozenset(),
) -> Form:
    """The ``form`` section at key ``at`` (``form``, or a campaign's); ``roles`` are the
    response columns it may name, ``extra`` further keys its caller reads."""
    f = r.mapping(root.get("form"), at, required=True)
    r.known(f, at, {"url", "prefill", "columns", "timestamp_format", "date_order", *extra})
    url = r.text(f, "url", at, required=True)
    if not url.startswith(("https://", "http://")):
        raise r.error(f"{at}.url", f"{url!r} is not a web address", "paste the form's link")
    prefill_raw = r.mapping(f.get("prefill"), f"{at}.prefill")
    prefill: dict[str, str] = {}
    for name, _entry in prefill_raw.items():
        value = r.text(prefill_raw, name, f"{at}.prefill", required=True)
        if not _ENTRY.match(value):
            raise r.error(
                f"{at}.prefill.{name}",
                f"{value!r} is not an entry number",
                "copy it from the form's 'Get pre-filled link', e.g. entry.1234567890",
            )
        prefill[str(name)] = value
    cols = r.mapping(f.get("columns"), f"{at}.columns")
    r.known(cols, f"{at}.columns", set(roles))
    plain = {k: r.text(cols, k, f"{at}.columns", required=k != "cycle") for k in cols}
    if "units" not in roles:
        # A Form without the monthly update's questions (a survey): its own columns are
        # read by the campaign, and the response reader needs none of these.
        plain.update(units="", help="", format="")
    columns = FormColumns(
        **{k: v for k, v in plain.items() if k in FormColumns.__dataclass_fields__}
    )
    timestamp_format = r.text(f, "timestamp_format", at) or None
    order_text = r.text(f, "date_order", at) or "auto"
    try:
        order = date_order(order_text)
    except ValueError:
        raise r.error(
            f"{at}.date_order",
            f"{order_text!r} is not one of: auto, day-first, month-first, year-first "
            "(or dmy, mdy, ymd)",
            "day-first when the export writes 3 December as 03/12/2026, month-first when "
            "it writes 12/03/2026",
        ) from None
    return Form(
        url=url,
        prefill=prefill,
        columns=columns,
        timestamp_format=timestamp_format,
        date_order=order,
    )


def _calendar(r: Reader, root: Mapping[str, Any]) -> Calendar:
    c = r.mapping(root.get("calendar"), "calendar")
    r.known(c, "calendar", set(Calendar.__dataclass_fields__) - {"windows"})
    d = Calendar()
    raw = c.get("run_at")
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw < 24 * 60:
        # YAML 1.1 reads an unquoted 12:30 as the base-60 number 750.
        hours, minutes = divmod(raw, 60)
        raise r.error(
            "calendar.run_at",
            f"YAML read the unquoted time {hours}:{minutes:02d} as the number {raw}",
            f"put the time in quotes: run_at: '{hours:02d}:{minutes:02d}'",
        )
    run_at = r.text(c, "run_at", "calendar") or d.run_at
    if not _TIME.match(run_at):
        raise r.error("calendar.run_at", f"{run_at!r} is not a time of day", "e.g. '07:30'")
    return Calendar(
        **monthly_calendar(r, c, "calendar", d),
        skip=tuple(_skip_ranges(r, c.get("skip"))),
        school_days_only=r.boolean(c, "school_days_only", "calendar", d.school_days_only),
        run_at=run_at,
        year_starts=r.integer(c, "year_starts", "calendar", d.year_starts, 1, 12),
    )


def monthly_calendar(r: Reader, c: Mapping[str, Any], at: str, d: Calendar) -> dict[str, Any]:
    """The monthly keys of the calendar mapping ``c`` at key ``at`` (``calendar``, or a
    campaign's), each defaulting to ``d``'s, checked together: the send day, the due, reminder
    and digest day counts, the months."""
    reminders = tuple(
        r.integer_list(c, "reminders_after_days", at, list(d.reminders_after_days), 1, 27)
    )
    if list(reminders) != sorted(set(reminders)):
        raise r.error(f"{at}.reminders_after_days", "must be increasing, without repeats")
    digest_after = r.integer(c, "digest_after_days", at, d.digest_after_days, 1, 27)
    if reminders and reminders[-1] >= digest_after:
        raise r.error(
            f"{at}.reminders_after_days",
            f"the last reminder (day {reminders[-1]}) must come before the digest "
            f"({at}.digest_after_days: {digest_after})",
        )
    return {
        "send_day": r.integer(c, "send_day", at, d.send_day, 1, 28),
        "due_after_days": r.integer(c, "due_after_days", at, d.due_after_days, 1, 27),
        "reminders_after_days": reminders,
        "digest_after_days": digest_after,
        "months": tuple(r.integer_list(c, "months", at, list(d.months), 1, 12)),
    }


def _skip_ranges(r: Reader, value: Any) -> list[tuple[date, date]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise r.error("calendar.skip", "expected a list of dates or date ranges")
    out = []
    for i, item in enumerate(value):
        key = f"calendar.skip[{i}]"
        if isinstance(item, datetime):
            item = item.date()  # "2026-12-21 00:00" is read by YAML as a moment: its day
        if isinstance(item, date):
            out.append((item, item))
            continue
        parts = str(item).split("..")
        try:
            start = date.fromisoformat(parts[0].strip())
            end = date.fromisoformat(parts[-1].strip())
        except ValueError:
            raise r.error(
                key, f"{item!r} is not a date or range", "e.g. 2026-11-26 or 2026-12-21..2027-01-01"
            ) from None
        if len(parts) > 2 or end < start:
            raise r.error(key, f"{item!r}: a range is FIRST..LAST with FIRST not after LAST")
        out.append((start, end))
    return out


def _digest(r: Reader, root: Mapping[str, Any], path: Path) -> DigestSettings:
    d = r.mapping(root.get("digest"), "digest")
    r.known(
        d,
        "digest",
        {"out", "needs_file", "trend_cycles", "sessions", "specialists", "learn_threshold"},
    )
    sess = r.mapping(d.get("sessions"), "digest.sessions")
    r.known(sess, "digest.sessions", {"team_meeting_min", "small_group_min"})
    defaults = Sessions()
    raw = d.get("specialists") or []
    if not isinstance(raw, list):
        raise r.error("digest.specialists", "expected a list of people with name and email")
    specialists = []
    for i, item in enumerate(raw):
        key = f"digest.specialists[{i}]"
        entry = r.mapping(item, key, required=True)
        r.known(entry, key, {"name", "email"})
        specialists.append(
            Specialist(r.text(entry, "name", key, required=True), r.email(entry, "email", key))
        )
    return DigestSettings(
        out=r.folder(d, "out", "digest") or path.parent / "digest",
        needs_file=r.path(d, "needs_file", "digest") or path.parent / "needs.csv",
        trend_cycles=r.integer(d, "trend_cycles", "digest", 6, 1, 24),
        sessions=Sessions(
            team_meeting_min=r.integer(
                sess, "team_meeting_min", "digest.sessions", defaults.team_meeting_min, 1, 100
            ),
            small_group_min=r.integer(
                sess, "small_group_min", "digest.sessions", defaults.small_group_min, 1, 100
            ),
        ),
        specialists=tuple(specialists),
        learn_threshold=r.fraction(d, "learn_threshold", "digest", 0.5),
    )


def _taxonomy(r: Reader, root: Mapping[str, Any], specialists: set[str]) -> Taxonomy:
    t = r.mapping(root.get("taxonomy"), "taxonomy")
    r.known(t, "taxonomy", {"use_defaults", "topics"})
    raw = t.get("topics") or []
    if not isinstance(raw, list):
        raise r.error("taxonomy.topics", "expected a list of topics with name and keywords")
    topics = []
    for i, item in enumerate(raw):
        key = f"taxonomy.topics[{i}]"
        entry = r.mapping(item, key, required=True)
        r.known(entry, key, {"name", "keywords", "stage", "owners", "replaces", "keep_keywords"})
        keep = r.boolean(entry, "keep_keywords", key, False)
        keywords = entry.get("keywords", [] if keep else None)
        if not isinstance(keywords, list) or not (keywords or keep):
            raise r.error(f"{key}.keywords", "expected a non-empty list of words or phrases")
        owners = entry.get("owners") or []
        if not isinstance(owners, list):
            raise r.error(f"{key}.owners", "expected a list of specialists' addresses")
        for owner in owners:
            if str(owner).strip().lower() not in {s.lower() for s in specialists}:
                raise r.error(
                    f"{key}.owners",
                    f"{owner!r} is not one of digest.specialists",
                    "list the person under digest.specialists (name and email) first",
                )
        replaces = r.text(entry, "replaces", key)
        name = r.text(entry, "name", key, required=True)
        builtin = _builtin_topic_names()
        if replaces and replaces.lower() not in builtin:
            close = difflib.get_close_matches(replaces.lower(), sorted(builtin), n=1)
            raise r.error(
                f"{key}.replaces",
                f"{replaces!r} is not a built-in topic",
                f"did you mean {builtin[close[0]]!r}?" if close else "see the README's topics",
            )
        if keep and (replaces or name).lower() not in builtin:
            raise r.error(
                f"{key}.keep_keywords",
                f"{name!r} is not a built-in topic, so it has no keywords to keep",
                "name a built-in topic, or rename one with replaces:",
            )
        topics.append(
            Topic(
                name=name,
                keywords=tuple(str(k).strip() for k in keywords if str(k).strip()),
                stage=r.choice(entry, "stage", key, STAGES, "standard"),
                owners=tuple(str(o).strip().lower() for o in owners),
                replaces=replaces,
                keep_keywords=keep,
            )
        )
    return Taxonomy(
        use_defaults=r.boolean(t, "use_defaults", "taxonomy", True), topics=tuple(topics)
    )


def _builtin_topic_names() -> dict[str, str]:
    """The built-in topics' names by their lower case (imported here: the taxonomy module
    builds its topics from this one's Topic)."""
    from ..digest.taxonomy import DEFAULT_TOPICS

    return {t.name.lower(): t.name for t in DEFAULT_TOPICS}
