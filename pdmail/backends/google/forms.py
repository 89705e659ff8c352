"""``pdmail form-fields``: read a Google Form's questions and print the config block for them.

A prefilled link names each question by ``entry.N``, where ``N`` is the Forms API question id
(a hex string) read as a number: ``7f37e8d2`` is ``entry.2134370514``. The Forms API needs only
the ``forms.body.readonly`` scope, asked for by ``pdmail auth --forms``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from ...config.records import Config
from ...errors import ConfigError
from .api import FORMS_API, google_errors

_FORM_ID = re.compile(r"/forms/d/(?:e/)?([A-Za-z0-9_-]{20,})")


@dataclass(frozen=True)
class Question:
    """One question of the form: its title, its API id, and its prefill entry name."""

    title: str
    question_id: str
    kind: str

    @property
    def entry(self) -> str:
        return f"entry.{int(self.question_id, 16)}"


@dataclass(frozen=True)
class FormInfo:
    form_id: str
    title: str
    responder_uri: str
    linked_sheet_id: str
    questions: tuple[Question, ...]


def form_id_from(value: str) -> str:
    """A form id from an id or an edit address (``.../forms/d/<id>/edit``). A responder
    address (``/forms/d/e/...``) holds a different id that the API does not accept."""
    if "/forms/d/e/" in value:
        raise ConfigError(
            "that is the form's responder address; the Forms API needs the id from the "
            "form's edit address (https://docs.google.com/forms/d/<id>/edit)"
        )
    m = _FORM_ID.search(value)
    return m.group(1) if m else value.strip()


def parse_form(data: dict[str, Any]) -> FormInfo:
    """The parts of a ``forms.get`` answer pdmail uses."""
    questions = []
    for item in data.get("items", []):
        question = (item.get("questionItem") or {}).get("question")
        if not question or "questionId" not in question:
            continue  # section headers, images, videos, grids
        kind = next((k for k in question if k.endswith("Question")), "question")
        questions.append(Question(item.get("title", ""), question["questionId"], kind))
    info = data.get("info", {})
    return FormInfo(
        form_id=data.get("formId", ""),
        title=info.get("documentTitle") or info.get("title", ""),
        responder_uri=data.get("responderUri", ""),
        linked_sheet_id=data.get("linkedSheetId", ""),
        questions=tuple(questions),
    )


def fetch_form(config: Config, credentials: Any, form_id: str, http: Any = None) -> FormInfo:
    """``forms.get`` through googleapiclient, at ``google.endpoints.forms``."""
    from googleapiclient.discovery import build_from_document

    doc = json.loads(
        resources.files("googleapiclient")
        .joinpath("discovery_cache/documents/forms.v1.json")
        .read_text(encoding="utf-8")
    )
    doc["rootUrl"] = doc["mtlsRootUrl"] = config.google.endpoints.forms.rstrip("/") + "/"
    if http is None:
        from .gmail import NoResendHttp

        http = NoResendHttp(credentials)
    service = build_from_document(doc, http=http)
    with google_errors(FORMS_API, f"forms.get {form_id}", hints=_HINTS):
        data = service.forms().get(formId=form_id).execute(num_retries=2)
    return parse_form(data)


_HINTS = {
    403: "run 'pdmail auth --forms' (the forms.body.readonly scope), and make sure the form "
    "belongs to or is shared with that account",
    404: "pass the id from the form's edit address, not the responder link",
}


# Who is answering (prefilled from the roster), then what they answer, then the cycle: a title
# is given the first role whose cue it contains, in this order, so "What do you need help with
# this month?" is the help question, not the cycle.
_ROSTER_WORDS = {
    "email": ("email", "e-mail", "address"),
    "first_name": ("first name", "given name"),
    "last_name": ("last name", "surname", "family name"),
    "team": ("team", "grade level", "department"),
}
_ANSWER_WORDS = {
    "units": ("unit",),
    "help": ("help", "support", "need"),
    "format": ("format", "prefer", "how would you like"),
}
_CYCLE_WORDS = {"cycle": ("cycle", "month")}
_ROLES = (_ROSTER_WORDS, _ANSWER_WORDS, _CYCLE_WORDS)


def _role(title: str) -> str:
    low = title.lower()
    for words in _ROLES:
        role = next((r for r, cues in words.items() if any(c in low for c in cues)), "")
        if role:
            return role
    return ""


def _one_line(title: str) -> str:
    # Titles go into YAML comments: a line break in one must not start a line of config.
    return " ".join(title.split())


def _quoted(title: str) -> str:
    return json.dumps(_one_line(title), ensure_ascii=False)


def config_block(form: FormInfo) -> str:
    """The ``form:`` block for pdmail.yaml, with each question's entry number, the prefill
    fields and answer columns guessed from the titles (each marked, to check by eye).

    Every key appears once: each question gets at most one role, and each role goes to the
    first question that looks like it; the others are listed as comments. A picked cycle
    question is both prefilled (``prefill.cycle``) and read back (``columns.cycle``).
    """
    picked: dict[str, Question] = {}
    also: list[tuple[str, Question]] = []
    for q in form.questions:
        role = _role(q.title)
        if not role:
            continue
        if role in picked:
            also.append((role, q))
        else:
            picked[role] = q
    prefilled = [r for r in (*_ROSTER_WORDS, *_CYCLE_WORDS) if r in picked]
    lines = ["form:", f"  url: {_quoted(form.responder_uri)}", "  prefill:"]
    for role in prefilled:
        lines.append(f"    {role}: {picked[role].entry}    # {_one_line(picked[role].title)}")
    lines.append("    # every question, for other roster fields:")
    for q in form.questions:
        lines.append(f"    # <roster field>: {q.entry}    # {_one_line(q.title)}")
    for role, q in also:
        lines.append(
            f"    # also looks like {role} (the first one was taken): {q.entry}"
            f"    # {_one_line(q.title)}"
        )
    seen: dict[str, list[str]] = {}
    for q in form.questions:
        seen.setdefault(_one_line(q.title).casefold(), []).append(_one_line(q.title))
    for same in (titles for titles in seen.values() if len(titles) > 1):
        lines.append(
            f"    # {len(same)} questions are titled {_quoted(same[0])}: give each its own "
            "title in the form, or their columns in the responses cannot be told apart"
        )
    lines.append("  columns:")
    lines.append("    timestamp: Timestamp")
    if "email" in picked:
        lines.append(f"    email: {_quoted(picked['email'].title)}")
    else:
        lines.append(
            "    email: Email Address    # the column Google adds when the form collects them"
        )
    for role in (*_ANSWER_WORDS, *_CYCLE_WORDS):
        if role in picked:
            lines.append(f"    {role}: {_quoted(picked[role].title)}")
    return "\n".join(lines) + "\n"
