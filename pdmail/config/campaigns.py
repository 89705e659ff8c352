"""The ``campaigns`` section: more campaigns beside the one the top-level settings describe,
and choosing one of them for a run.

A config without the section has one campaign, named by ``campaign`` (``monthly-update`` by
default), whose Form, calendar and templates are the top-level ``form``, ``calendar`` and
``templates``. Each entry under ``campaigns`` adds one with its own; an entry named like the
top-level campaign may only narrow its audience.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..campaigns import layout
from ..campaigns.choices import OTHER, fold
from ..errors import ConfigError, UsageError
from .reader import Reader, show_value
from .records import (
    CAMPAIGN_KINDS,
    Audience,
    Calendar,
    Campaign,
    CampaignKind,
    Config,
    Sources,
    SurveyQuestions,
    Window,
)

NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_MONTHLY_KEYS = {
    "send_day",
    "due_after_days",
    "reminders_after_days",
    "digest_after_days",
    "months",
}
_WINDOW_KEYS = {"opens", "due", "reminders", "digest"}


def parse_campaigns(
    r: Reader, root: Mapping[str, Any], main: Campaign, sources: Sources
) -> tuple[Campaign, ...]:
    """``main`` (the top-level campaign) and every campaign under ``campaigns``, checked."""
    from .load import _form, monthly_calendar

    section = r.mapping(root.get("campaigns"), "campaigns")
    found = [main]
    for raw_name, raw in section.items():
        name = str(raw_name)
        key = f"campaigns.{name}"
        if not NAME.match(name):
            raise r.error(key, f"{name!r} is not a simple name", "e.g. pd-survey (a-z, 0-9, -)")
        entry = r.mapping(raw, key, required=True)
        if name == main.name:
            for own in ("form", "calendar", "templates", "responses", "kind"):
                if own in entry:
                    raise r.error(
                        f"{key}.{own}",
                        f"the {name} campaign's {own} is the top-level '{own}' setting",
                        "move it to the top level, or name this campaign differently",
                    )
            r.known(entry, key, {"audience"})
            found[0] = replace(main, audience=_audience(r, entry, key))
            continue
        kind = _kind(r, entry, key, name)
        r.known(entry, key, {"kind", "form", "calendar", "templates", "audience", "responses"})
        survey = None
        if kind == "survey":
            roles = ("timestamp", "email", "cycle", *layout.QUESTIONS, "suggestion")
            form = _form(r, entry, f"{key}.form", roles, frozenset({"choices"}))
            survey = _survey(r, r.mapping(entry.get("form"), f"{key}.form"), f"{key}.form")
        else:
            form = _form(r, entry, f"{key}.form")
        calendar = _calendar(r, entry, f"{key}.calendar", main.calendar, monthly_calendar)
        found.append(
            Campaign(
                name=name,
                kind=kind,
                form=form,
                calendar=calendar,
                templates=_templates(r, entry, key),
                audience=_audience(r, entry, key),
                template_set=layout.SURVEY_NAME if kind == "survey" else "",
                responses=_responses(r, entry, key, sources),
                survey=survey,
            )
        )
    return tuple(found)


def _kind(r: Reader, entry: Mapping[str, Any], key: str, name: str) -> CampaignKind:
    default = "survey" if name == layout.SURVEY_NAME else "update"
    kind = r.choice(entry, "kind", key, CAMPAIGN_KINDS, default)
    return "survey" if kind == "survey" else "update"


def _survey(r: Reader, form: Mapping[str, Any], at: str) -> SurveyQuestions:
    cols = r.mapping(form.get("columns"), f"{at}.columns")
    headers = {
        role: r.text(cols, role, f"{at}.columns") or layout.COLUMNS[role]
        for role in (*layout.QUESTIONS, "suggestion")
    }
    raw = r.mapping(form.get("choices"), f"{at}.choices")
    r.known(raw, f"{at}.choices", set(layout.QUESTIONS))
    choices: dict[str, tuple[str, ...]] = {}
    for role in layout.QUESTIONS:
        value = raw.get(role)
        if value is None:
            choices[role] = layout.CHOICES[role]
            continue
        if not isinstance(value, list) or not value:
            raise r.error(
                f"{at}.choices.{role}",
                f"expected a list of the question's choices, got {show_value(value)}",
                "copy each choice as the Form shows it, e.g. [One-on-one, Small group]",
            )
        items = [r.text({role: v}, role, f"{at}.choices", required=True) for v in value]
        seen: set[str] = set()
        for item in items:
            folded = fold(item)
            if not folded:
                raise r.error(
                    f"{at}.choices.{role}", f"{item!r} has no letter or digit to match answers by"
                )
            if folded == fold(OTHER):
                raise r.error(
                    f"{at}.choices.{role}",
                    "'Other' is not a choice to list: answers that match no choice are "
                    "counted as Other, with their words",
                    "leave it out, and keep the Form's 'Other' option if you want one",
                )
            if folded in seen:
                raise r.error(
                    f"{at}.choices.{role}",
                    f"{item!r} is listed twice (choices are compared ignoring case, spaces "
                    "and punctuation)",
                )
            seen.add(folded)
        choices[role] = tuple(items)
    return SurveyQuestions(
        formats=headers["formats"],
        times=headers["times"],
        topics=headers["topics"],
        suggestion=headers["suggestion"],
        choices=choices,
    )


def _calendar(
    r: Reader, entry: Mapping[str, Any], at: str, main: Calendar, monthly: Any
) -> Calendar:
    """A campaign's calendar: monthly (the top-level calendar's keys, each defaulting to it)
    or one-off windows (``opens``, ``due``, ``reminders``, ``digest``, or a list of such under
    ``windows``). The school days, skipped dates and run time stay the top-level calendar's."""
    c = r.mapping(entry.get("calendar"), at, required=True)
    r.known(c, at, _MONTHLY_KEYS | _WINDOW_KEYS | {"windows"})
    window_keys = (_WINDOW_KEYS | {"windows"}) & set(c)
    if window_keys and _MONTHLY_KEYS & set(c):
        raise r.error(
            f"{at}.{sorted(_MONTHLY_KEYS & set(c))[0]}",
            "a calendar is monthly (send_day, ...) or a one-off window (opens, due, ...), not both",
            "for a survey, keep opens, due, reminders and digest",
        )
    if not window_keys:
        return replace(main, **monthly(r, c, at, main), windows=())
    if "windows" in c:
        if set(c) - {"windows"}:
            raise r.error(
                f"{at}.{sorted(set(c) - {'windows'})[0]}",
                "put each window's dates inside its entry under windows",
            )
        items = c["windows"]
        if not isinstance(items, list) or not items:
            raise r.error(f"{at}.windows", f"expected a list of windows, got {show_value(items)}")
        windows = [
            _window(r, r.mapping(w, f"{at}.windows[{i}]", required=True), f"{at}.windows[{i}]")
            for i, w in enumerate(items)
        ]
    else:
        windows = [_window(r, c, at)]
    windows.sort(key=lambda w: w.opens)
    for before, after in itertools.pairwise(windows):
        if (before.opens.year, before.opens.month) == (after.opens.year, after.opens.month):
            raise r.error(
                f"{at}.windows",
                f"two windows open in {after.opens:%B %Y}; a campaign's rounds are named by "
                "their month, so each needs a month of its own",
            )
        if after.opens <= before.digest:
            raise r.error(
                f"{at}.windows",
                f"the window opening {after.opens} starts before the one opening "
                f"{before.opens} has its digest ({before.digest})",
            )
    return replace(main, windows=tuple(windows))


def _window(r: Reader, c: Mapping[str, Any], at: str) -> Window:
    r.known(c, at, _WINDOW_KEYS)
    opens = _date(r, c, "opens", at, required=True)
    due = _date(r, c, "due", at, required=True)
    assert opens is not None and due is not None
    if due <= opens:
        raise r.error(f"{at}.due", f"{due} must come after the opening day ({opens})")
    raw = c.get("reminders", [])
    if not isinstance(raw, list):
        raw = [raw]
    reminders: list[date] = []
    for i, item in enumerate(raw):
        key = f"{at}.reminders[{i}]"
        if isinstance(item, int) and not isinstance(item, bool):
            if not 1 <= item <= 365:
                raise r.error(key, f"expected days after opening (1 to 365), got {item}")
            reminders.append(opens + timedelta(days=item))
            continue
        day = _date(r, {"reminder": item}, "reminder", key, required=True, named=key)
        assert day is not None
        reminders.append(day)
    if reminders != sorted(set(reminders)) or (reminders and reminders[0] <= opens):
        raise r.error(
            f"{at}.reminders",
            "must be after the opening day and increasing, without repeats",
            "dates such as 2027-02-05, or days after opening such as [4, 8]",
        )
    digest = _date(r, c, "digest", at) or due + timedelta(days=3)
    if digest < due or (reminders and reminders[-1] >= digest):
        raise r.error(
            f"{at}.digest",
            f"the digest ({digest}) must come on or after the due date and after the last reminder",
        )
    return Window(opens=opens, due=due, reminders=tuple(reminders), digest=digest)


def _date(
    r: Reader,
    m: Mapping[str, Any],
    name: str,
    at: str,
    *,
    required: bool = False,
    named: str = "",
) -> date | None:
    key = named or f"{at}.{name}"
    value = m.get(name)
    if value is None:
        if required:
            raise r.error(key, "is required", "a date such as 2027-02-01")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise r.error(key, f"{value!r} is not a date", "write it as YYYY-MM-DD") from None


def _templates(r: Reader, entry: Mapping[str, Any], key: str) -> Path | None:
    folder = r.path(entry, "templates", key)
    if folder is not None and not folder.is_dir():
        raise r.error(
            f"{key}.templates",
            f"the folder {folder} does not exist" if not folder.exists() else f"{folder} is a file",
            "name a folder of the campaign's own templates, or remove the key to use pdmail's",
        )
    return folder


def _audience(r: Reader, entry: Mapping[str, Any], key: str) -> Audience:
    at = f"{key}.audience"
    raw = entry.get("audience")
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("all", "everyone")):
        return Audience(key=at)
    a = r.mapping(raw, at)
    r.known(a, at, {"include", "exclude"})
    return Audience(
        include=_rules(r, a, "include", at), exclude=_rules(r, a, "exclude", at), key=at
    )


def _rules(
    r: Reader, a: Mapping[str, Any], name: str, at: str
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    m = r.mapping(a.get(name), f"{at}.{name}")
    rules = []
    for column, values in m.items():
        key = f"{at}.{name}.{column}"
        items = values if isinstance(values, list) else [values]
        texts = [r.text({"v": v}, "v", key, required=True) if v is not None else "" for v in items]
        if not texts or not all(texts):
            raise r.error(key, "expected a value or a list of values of the roster column")
        rules.append((str(column).strip(), tuple(texts)))
    return tuple(rules)


def _responses(r: Reader, entry: Mapping[str, Any], key: str, sources: Sources) -> str:
    from ..backends.registry import SOURCES, source_backend

    backend = source_backend(sources.kind)
    if backend.campaign_responses is None:
        able = " or ".join(b.kind for b in SOURCES if b.campaign_responses)
        if "responses" in entry:
            raise r.error(
                f"{key}.responses",
                f"sources.kind {sources.kind} keeps one responses table for every campaign",
                f"use sources.kind {able} for a campaign with a Form of its own",
            )
        raise r.error(
            key,
            f"a campaign needs its Form's own responses, which sources.kind {sources.kind} "
            "cannot point to",
            f"use sources.kind {able}",
        )
    return backend.parse_campaign_responses(r, entry, key)


def campaign_names(config: Config) -> list[str]:
    """The names of ``config``'s campaigns, the default one first."""
    return [c.name for c in config.campaigns] or [config.campaign]


def for_campaign(config: Config, name: str | None = None) -> Config:
    """``config`` for the campaign called ``name`` (default: the top-level one): its Form,
    calendar, templates and responses in place of the top-level ones, its digest files in a
    folder of its own (``digest.out/<name>``). The ledger, roster, mail and state stay shared.

    Raises :class:`UsageError` naming the campaigns there are when none is called ``name``.
    """
    wanted = name or config.default_campaign
    if wanted == config.campaign:
        return config
    if config.campaign != config.default_campaign:
        # Every campaign's settings are worked out from the loaded config's own.
        raise ConfigError(
            f"campaign {wanted!r}: choose it from the loaded config, not from the "
            f"{config.campaign} campaign's"
        )
    found = next((c for c in config.campaigns if c.name == wanted), None)
    if found is None:
        names = ", ".join(campaign_names(config))
        raise UsageError(
            f"--campaign: {config.path.name} has no campaign {wanted!r} (campaigns: {names})",
            hint=f"add it under 'campaigns' in {config.path.name} (see config.example.yaml), or "
            "pick one of those",
        )
    # A campaign's needs (an update campaign has them) are its own table: beside needs.csv,
    # or a tab beside the needs tab.
    needs_file = config.digest.needs_file
    derived = replace(
        config,
        campaign=found.name,
        form=found.form,
        calendar=found.calendar,
        templates=found.templates,
        digest=replace(
            config.digest,
            out=config.digest.out / found.name,
            needs_file=needs_file.with_name(f"{found.name}-{needs_file.name}"),
        ),
        google=replace(config.google, needs_tab=f"{found.name}-{config.google.needs_tab}"),
        main_campaign=config.default_campaign,
    )
    if found.responses:
        from ..backends.registry import source_backend

        backend = source_backend(config.sources.kind)
        derived = backend.with_campaign_responses(derived, found.responses)
    return derived
