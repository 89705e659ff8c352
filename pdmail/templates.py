"""Templates: Jinja2 with StrictUndefined, the school's own copies first, pdmail's defaults after.

HTML templates (``*.html.j2``) are autoescaped, so a teacher's answer or name is always text in
the page. Markdown gets an explicit ``md`` filter that escapes its markup characters. Any error
names the template file and line, and fails before the first message is sent.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jinja2

from .config import Form
from .errors import ConfigError, TemplateError
from .models import Teacher
from .resources import builtin_templates

# Characters that make inline markup anywhere in a line; values never start a line (the
# filter folds line breaks), so block markers such as "-" or "1." need no escape.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


class Fields(Mapping[str, str]):
    """A teacher's roster fields as template sees them: ``teacher.first_name``, ``teacher.team``,
    ``teacher.display_name``; an unknown field is an error naming the roster's fields."""

    def __init__(self, teacher: Teacher) -> None:
        self._data = dict(teacher.fields)
        self._data.update(
            email=teacher.email,
            first_name=teacher.first_name,
            last_name=teacher.last_name,
            team=teacher.team,
            display_name=teacher.display_name,
        )

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class _Undefined(jinja2.StrictUndefined):
    @property
    def _undefined_message(self) -> str:
        obj = self._undefined_obj
        if isinstance(obj, Fields):
            return (
                f"the roster has no field '{self._undefined_name}'"
                f" (fields: {', '.join(sorted(obj))})"
            )
        return str(super()._undefined_message)


def md_escape(value: object) -> str:
    """``value`` as literal Markdown text on one line: inline markup characters are escaped
    and ``<``/``&`` become entities, so no link, emphasis or HTML comes from it."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;")
    return " ".join(_MD_SPECIAL.sub(r"\\\1", text).split())


class Templates:
    """Renders named templates from ``folder`` (if given) then the built-in defaults."""

    def __init__(self, folder: Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if folder is not None:
            loaders.append(jinja2.FileSystemLoader(str(folder)))
        loaders.append(jinja2.FileSystemLoader(str(builtin_templates())))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=_Undefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["md"] = md_escape
        # Half up, as people expect (5 of 8 is 63%), and the same everywhere in the digest.
        self.env.filters["percent"] = lambda rate: int(float(rate) * 100 + 0.5)
        self.env.filters["plural"] = lambda n, word, many=None: (
            word if n == 1 else (many or word + "s")
        )

    def where(self, name: str) -> str:
        """The file a template name resolves to, for messages."""
        try:
            source = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except jinja2.TemplateNotFound:
            return name
        return source[1] or name

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render template ``name``; any failure becomes a :class:`TemplateError` with its place."""
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise TemplateError(
                f"template {name!r} not found",
                hint="'pdmail init' writes the default templates; remove a broken 'templates' key",
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{exc.filename or name}, line {exc.lineno}: {exc.message}"
            ) from None
        try:
            return template.render(context)
        except jinja2.TemplateError as exc:
            line = _template_line(exc, template.filename)
            where = template.filename or name
            raise TemplateError(
                f"{where}{f', line {line}' if line else ''}: {exc.message or exc}"
            ) from None
        except Exception as exc:  # a filter or a test raised; still a template problem
            line = _template_line(exc, template.filename)
            raise TemplateError(
                f"{template.filename or name}{f', line {line}' if line else ''}: {exc}"
            ) from None


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    if not filename:
        return None
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return lines[-1] if lines else None


def prefilled_link(form: Form, teacher: Teacher, cycle_name: str) -> str:
    """The form's address with this teacher's answers filled in (``usp=pp_url&entry.N=...``)."""
    fields = Fields(teacher)
    parts = urlsplit(form.url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "usp"]
    query.append(("usp", "pp_url"))
    for name, entry in form.prefill.items():
        if name == "cycle":
            value = cycle_name
        elif name in fields:
            value = fields[name]
        else:
            raise ConfigError(
                f"form.prefill.{name}: the roster has no field {name!r}",
                hint=f"fields are: cycle, {', '.join(sorted(fields))}",
            )
        query.append((entry, value))
    return urlunsplit(parts._replace(query=urlencode(query)))
