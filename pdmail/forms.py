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

from .config import Config
from .errors import BackendError, ConfigError

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
    from googleapiclient.errors import HttpError

    doc = json.loads(
        resources.files("googleapiclient")
        .joinpath("discovery_cache/documents/forms.v1.json")
        .read_text(encoding="utf-8")
    )
    doc["rootUrl"] = doc["mtlsRootUrl"] = config.google.endpoints.forms.rstrip("/") + "/"
    if http is None:
        from .backends.gmail import NoResendHttp

        http = NoResendHttp(credentials)
    service = build_from_document(doc, http=http)
    try:
        data = service.forms().get(formId=form_id).execute(num_retries=2)
    except HttpError as exc:
        status = exc.resp.status
        hint = {
            403: "run 'pdmail auth --forms' (the forms.body.readonly scope), and make sure the "
            "form belongs to or is shared with that account",
            404: "pass the id from the form's edit address, not the responder link",
        }.get(int(status))
        raise BackendError(
            f"Google Forms API: forms.get {form_id}: {status} {exc.reason}", hint=hint
        ) from None
    return parse_form(data)


_ROSTER_WORDS = {
    "email": ("email", "e-mail", "address"),
    "first_name": ("first name", "given name"),
    "last_name": ("last name", "surname", "family name"),
    "team": ("team", "grade level", "department"),
    "cycle": ("cycle", "month"),
}
_ANSWER_WORDS = {
    "units": ("unit",),
    "help": ("help", "support", "need"),
    "format": ("format", "prefer", "how would you like"),
}


def _guess(title: str, words: dict[str, tuple[str, ...]]) -> str:
    low = title.lower()
    return next((role for role, cues in words.items() if any(c in low for c in cues)), "")


def config_block(form: FormInfo) -> str:
    """The ``form:`` block for pdmail.yaml, with each question's entry number, the prefill
    fields and answer columns guessed from the titles (each marked, to check by eye)."""
    lines = ["form:", f'  url: "{form.responder_uri}"', "  prefill:"]
    prefill = [(q, _guess(q.title, _ROSTER_WORDS)) for q in form.questions]
    answers = [(q, _guess(q.title, _ANSWER_WORDS)) for q in form.questions]
    for q, role in prefill:
        if role:
            lines.append(f"    {role}: {q.entry}    # {q.title}")
    lines.append("    # every question, for other roster fields:")
    for q in form.questions:
        lines.append(f"    # <roster field>: {q.entry}    # {q.title}")
    lines.append("  columns:")
    lines.append("    timestamp: Timestamp")
    asked = next((q for q, role in prefill if role == "email"), None)
    if asked is not None:
        lines.append(f"    email: {json.dumps(asked.title, ensure_ascii=False)}")
    else:
        lines.append(
            "    email: Email Address    # the column Google adds when the form collects them"
        )
    for q, role in answers:
        if role:
            lines.append(f"    {role}: {json.dumps(q.title, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"
