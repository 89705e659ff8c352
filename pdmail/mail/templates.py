"""Templates: Jinja2 with StrictUndefined, the school's own copies first, pdmail's defaults after.

Every template runs in Jinja's immutable sandbox, so a template (a school's own copy included)
reaches the values pdmail passes in and nothing of Python's internals. HTML templates
(``*.html.j2``) are autoescaped, so a teacher's answer or name is always text in
the page. Markdown gets an explicit ``md`` filter that escapes its markup characters. Any error
names the template file and line, and fails before the first message is sent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import hashlib
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import BuiltinMethodType, FrameType, MethodType
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

import jinja2
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..config.records import Form
from ..errors import ConfigError, TemplateError
from ..models import Teacher
from ..resources import builtin_templates
from .markdown import FILTERS as MARKDOWN_FILTERS
from .markdown import md_escape as md_escape  # the md filter, importable from here as before


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
    """Fails on use, naming what is missing and the closest name that exists (a typo such as
    ``teacher.frist_name`` or ``scool`` gets "did you mean 'first_name'?")."""

    @property
    def _undefined_message(self) -> str:
        obj, name = self._undefined_obj, self._undefined_name
        if self._undefined_hint or not isinstance(name, str):
            return str(super()._undefined_message)
        if isinstance(obj, Fields):
            return (
                f"the roster has no field '{name}'{_did_you_mean(name, obj)}"
                f" (fields: {', '.join(sorted(obj))})"
            )
        seen = _visible_names()
        if obj is jinja2.utils.missing:
            known = sorted(n for n in seen if n not in _JINJA_GLOBALS)
            listing = f" (names: {', '.join(known)})" if known else ""
            return f"'{name}' is undefined{_did_you_mean(name, seen)}{listing}"
        owner = next((n for n, v in seen.items() if v is obj), None)
        if owner is None:
            return f"{super()._undefined_message}{_did_you_mean(name, _members(obj))}"
        members = _members(obj)
        listing = ""
        if isinstance(obj, Mapping) or dataclasses.is_dataclass(obj):
            listing = f" (it has: {', '.join(sorted(members))})"
        return f"{owner} has no '{name}'{_did_you_mean(name, members)}{listing}"


# Jinja's own globals (range, dict, ...) are offered as corrections but not listed as names.
_JINJA_GLOBALS = frozenset(jinja2.defaults.DEFAULT_NAMESPACE)
_LOCAL = re.compile(r"^l_\d+_(\w+)$")


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    names = [c for c in candidates if isinstance(c, str) and c != name]
    by_fold = {c.casefold(): c for c in names}
    guess = by_fold.get(name.casefold())
    if guess is None:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        guess = close[0] if close else None
    return f"; did you mean '{guess}'?" if guess else ""


def _members(obj: object) -> list[str]:
    if isinstance(obj, Mapping):
        return [k for k in obj if isinstance(k, str)]
    return [n for n in dir(obj) if not n.startswith("_")]


def _visible_names() -> dict[str, Any]:
    """The names the failing template can see: its context and the locals of the template
    code on the stack (loop variables, ``{% set %}``, macro arguments).

    An undefined value does not know the context it came from, so this looks for it on the
    stack; it runs only when a template has already failed.
    """
    names: dict[str, Any] = {}
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        for key, value in frame.f_locals.items():
            local = _LOCAL.match(key)
            if local and value is not jinja2.utils.missing:
                names.setdefault(local.group(1), value)
        context = frame.f_locals.get("context")
        if isinstance(context, jinja2.runtime.Context):
            for key, value in context.get_all().items():
                names.setdefault(key, value)
            break
        frame = frame.f_back
    return names


_SANDBOX_HINT = (
    "templates may use the values pdmail gives them (teacher, cycle, school, digest, ...) and "
    "Jinja's filters, but not Python's internals: names starting with '_', format-string "
    "field access, or changing a list or dict in place. Nothing was sent"
)
# What a str.format reached from a template can be (Jinja wraps it to keep it sandboxed).
_METHODS = (MethodType, BuiltinMethodType)
# Beyond these a template is building something no message needs, at the cost of memory.
_MAX_POWER = 64
_MAX_ITEMS = 100_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox: a template reaches the values it is given, never Python's
    internals (``''.__class__.__mro__``, ``"{0.__class__}".format(x)``, ``_private``
    attributes) and never changes them; ``**`` and ``*`` cannot build a huge value."""

    intercepted_binops = frozenset({"**", "*"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._safe: dict[tuple[type, str], bool] = {}
        self._subscriptable: dict[type, bool] = {}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # Jinja's answer depends only on the object's type and the name (the value is not
        # looked at). Remembering it makes the sandbox cost little: a 1,000-teacher digest
        # renders in about 0.3 s, against 0.6 s asking Jinja every time.
        key = (type(obj), attr)
        safe = self._safe.get(key)
        if safe is None:
            safe = self._safe[key] = bool(super().is_safe_attribute(obj, attr, value))
        return safe

    def getattr(self, obj: Any, attribute: str) -> Any:
        # Jinja's own SandboxedEnvironment.getattr, step for step, with its two checks made
        # cheap: only a method can be a str.format to wrap, and the safety of an attribute is
        # remembered by type and name (see is_safe_attribute). A digest of a year's needs
        # reads about a million attributes.
        try:
            value = getattr(obj, attribute)
        except AttributeError:
            try:
                return obj[attribute]
            except (TypeError, LookupError):
                pass
            return self.undefined(obj=obj, name=attribute)
        return self._checked(obj, attribute, value)

    def getitem(self, obj: Any, argument: Any) -> Any:
        # Jinja's own SandboxedEnvironment.getitem, without the exception its first step
        # raises for a record (``obj["kind"]`` on a proposal): a filter that reads an
        # attribute (``selectattr("kind", ...)``, ``groupby("topic")``, ``map(attribute=...)``)
        # looks it up this way, once per item of a list that can be thousands long.
        cls = type(obj)
        subscriptable = self._subscriptable.get(cls)
        if subscriptable is None:
            # A class is subscripted by its own __class_getitem__: left to Jinja.
            subscriptable = self._subscriptable[cls] = hasattr(cls, "__getitem__") or isinstance(
                obj, type
            )
        if subscriptable or not isinstance(argument, str):
            return super().getitem(obj, argument)
        try:
            value = getattr(obj, str(argument))
        except AttributeError:
            return self.undefined(obj=obj, name=argument)
        return self._checked(obj, argument, value)

    def _checked(self, obj: Any, attribute: str, value: Any) -> Any:
        """``value``, read as ``obj``'s ``attribute``, as the sandbox lets a template have it:
        a str.format method wrapped, an unsafe attribute undefined."""
        if isinstance(value, _METHODS):
            fmt = self.wrap_str_format(value)
            if fmt is not None:
                return fmt
        safe = self._safe.get((type(obj), attribute))
        if safe is None:
            safe = self.is_safe_attribute(obj, attribute, value)
        return value if safe else self.unsafe_undefined(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > _MAX_POWER:
            raise SecurityError(f"a power above {_MAX_POWER} is not allowed in a template")
        if operator == "*":
            size = _repeat_size(left, right) or _repeat_size(right, left)
            if size > _MAX_ITEMS:
                raise SecurityError(
                    f"repeating a value to {size:,} items is not allowed in a template"
                )
        return super().call_binop(context, operator, left, right)


def _repeat_size(seq: Any, times: Any) -> int:
    if isinstance(seq, (str, list, tuple)) and isinstance(times, int):
        return len(seq) * times
    return 0


def _per_rendering(function: Callable[..., str]) -> Callable[..., str]:
    """``function`` as a filter given ``memo=``, a dict kept for one rendering of a template
    (on Jinja's evaluation context, which each rendering makes anew)."""

    @jinja2.pass_eval_context
    def with_memo(eval_ctx: jinja2.nodes.EvalContext, *args: Any, **kwargs: Any) -> str:
        memo = eval_ctx.__dict__.get(_MEMO)
        if memo is None:
            memo = eval_ctx.__dict__[_MEMO] = {}
        return function(*args, memo=memo, **kwargs)

    return functools.update_wrapper(with_memo, function)


_MEMO = "pdmail_md_memo"


class _CompiledCache(FileSystemBytecodeCache):
    """Templates compiled once and kept (Jinja's bytecode cache, in Jinja's per-user private
    folder under the temporary folder): compiling the digest's templates takes a quarter of
    a second, loading them a few milliseconds, in every run.

    Only the templates in ``folders`` (the school's and pdmail's) are kept, each under its
    name and file, so an edited template replaces its own entry and the files stay as few as
    the templates. A kept template is used only for the same source (Jinja checks it), the
    same Python and Jinja, and an environment with the same options, filters and tests
    (``tag``); a cache that cannot be read or written is passed over, never an error.
    """

    def __init__(
        self, directory: str, env: jinja2.Environment, folders: Sequence[Path], tag: str
    ) -> None:
        super().__init__(directory, "pdmail-%s.cache")
        self._env = env
        self._folders = tuple(os.path.realpath(folder) + os.sep for folder in folders)
        self._tag = tag

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        auto = self._env.autoescape
        escaped = bool(auto(name) if callable(auto) else auto)  # compiled in, too
        return str(super().get_cache_key(f"{self._tag}|{escaped}|{name}", filename))

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        if filename is None or not os.path.realpath(filename).startswith(self._folders):
            # Not from a templates folder: a bucket that is never loaded or kept.
            return Bucket(environment, "", self.get_source_checksum(source))
        return super().get_bucket(environment, name, filename, source)

    def set_bucket(self, bucket: Bucket) -> None:
        if bucket.key:
            super().set_bucket(bucket)

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # unreadable or damaged: compiled again (and kept again)
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


# The environment's settings that change how a template compiles.
_SYNTAX = ("block_start_string", "block_end_string", "variable_start_string",
           "variable_end_string", "comment_start_string", "comment_end_string",
           "line_statement_prefix", "line_comment_prefix", "trim_blocks", "lstrip_blocks",
           "newline_sequence", "keep_trailing_newline", "optimized", "is_async")  # fmt: skip


@functools.cache
def _cache_folder() -> str | None:
    """Jinja's private per-user cache folder (made if need be), or None if there is none."""
    try:
        return str(FileSystemBytecodeCache().directory)
    except (OSError, RuntimeError):  # no safe folder of this user's own to keep them in
        return None


def _compiled_cache(env: jinja2.Environment, folders: Sequence[Path]) -> _CompiledCache | None:
    directory = _cache_folder()
    if directory is None:
        return None

    # What the compiled code depends on besides the source: the syntax and options that shape
    # it, and the filters and tests it may name, with what each is passed (a filter given the
    # context is called differently).
    def passing(functions: Mapping[str, Any]) -> list[tuple[str, str]]:
        return sorted((n, str(getattr(f, "jinja_pass_arg", ""))) for n, f in functions.items())

    options = (
        jinja2.__version__,
        sys.version,
        type(env).__qualname__,
        [getattr(env, name) for name in _SYNTAX],
        sorted(getattr(env, "intercepted_binops", ())),
        sorted(getattr(env, "intercepted_unops", ())),
        str(getattr(env.finalize, "jinja_pass_arg", env.finalize is not None)),
        passing(env.filters),
        passing(env.tests),
    )
    tag = hashlib.sha256(repr(options).encode()).hexdigest()[:16]
    return _CompiledCache(directory, env, folders, tag)


class Templates:
    """Renders named templates from ``folder`` (if given) then the built-in defaults, in
    Jinja's immutable sandbox."""

    def __init__(self, folder: Path | None = None, *, builtin_set: str = "") -> None:
        """``builtin_set`` names a campaign's own set of built-in templates (a sub-folder of
        pdmail's, such as ``pd-survey``), looked in before the monthly update's."""
        if folder is not None and not folder.is_dir():
            # Never a quiet fall back to the defaults: the school's own wording would vanish.
            raise ConfigError(
                f"templates: the folder {folder} does not exist",
                hint="correct the 'templates' path in the config, or remove the key to use "
                "pdmail's own templates",
            )
        builtin = builtin_templates()
        self.folders = [
            *([folder] if folder is not None else []),
            *([builtin / builtin_set] if builtin_set else []),
            builtin,
        ]
        loaders: list[jinja2.BaseLoader] = [
            jinja2.FileSystemLoader(str(place)) for place in self.folders
        ]
        self.env = _Sandbox(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=_Undefined,
            autoescape=lambda name: bool(name and name.endswith(".html.j2")),
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Names whose own copy was found to be a file (or absent): looked at once, not once
        # per message.
        self._checked: set[str] = set()
        self.env.filters["md"] = md_escape
        # The digest's long lists, each written by one call (pdmail.mail.markdown), with a
        # memo of what they escaped for the one rendering.
        self.env.filters.update({name: _per_rendering(f) for name, f in MARKDOWN_FILTERS.items()})
        # Half up, as people expect (5 of 8 is 63%), and the same everywhere in the digest.
        self.env.filters["percent"] = lambda rate: int(float(rate) * 100 + 0.5)
        self.env.filters["plural"] = lambda n, word, many=None: (
            word if n == 1 else (many or word + "s")
        )
        self.env.bytecode_cache = _compiled_cache(self.env, self.folders)

    def where(self, name: str) -> str:
        """The file a template name resolves to, for messages."""
        try:
            source = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        except (jinja2.TemplateNotFound, UnicodeDecodeError, OSError):
            return str(self._file(name))
        return source[1] or name

    def _file(self, name: str) -> Path | str:
        """The file the loaders would read for ``name`` (without reading it)."""
        for place in self.folders:
            if (place / name).exists():
                return place / name
        return name

    def _not_text(self, name: str, exc: UnicodeDecodeError) -> TemplateError:
        data = exc.object if isinstance(exc.object, bytes) else b""
        line = data.count(b"\n", 0, exc.start) + 1
        return TemplateError(
            f"{self._file(name)}: not UTF-8 text (byte {data[exc.start]:#04x} on line {line}, "
            f"byte offset {exc.start})"
            if data
            else f"{self._file(name)}: not UTF-8 text",
            hint="save the template again as UTF-8 (in Notepad: Save As, Encoding UTF-8)",
        )

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        """Render template ``name``; any failure becomes a :class:`TemplateError` with its place."""
        # Looked at once per name, not once per message (a run renders the same few
        # templates for every teacher); Jinja itself keeps each compiled and sees an edit.
        own = None if name in self._checked or len(self.folders) < 2 else self.folders[0] / name
        if own is not None and own.exists() and not own.is_file():
            # Jinja would pass over it to the built-in template: the school's wording would
            # quietly be replaced by pdmail's.
            raise TemplateError(
                f"{own}: is a folder, not a template file",
                hint=f"move the template out of it, or remove the folder to use pdmail's {name}",
            )
        try:
            template = self.env.get_template(name)
        except jinja2.TemplateNotFound:
            raise TemplateError(
                f"template {name!r} not found",
                hint="'pdmail init' writes the default templates; remove a broken 'templates' key",
            ) from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"{exc.filename or name}, line {exc.lineno}: {_named_wrong(exc.message, self.env)}"
            ) from None
        except UnicodeDecodeError as exc:
            raise self._not_text(name, exc) from None
        except OSError as exc:
            raise TemplateError(
                f"{self._file(name)}: cannot read the template ({exc.strerror or exc})"
            ) from None
        self._checked.add(name)
        return self._render(template, name, context)

    def _render(self, template: jinja2.Template, name: str, context: Mapping[str, Any]) -> str:
        try:
            return template.render(context)
        except jinja2.TemplateNotFound as exc:
            line = _template_line(exc, template.filename)
            raise TemplateError(
                f"{template.filename or name}{f', line {line}' if line else ''}: includes or "
                f"extends '{exc.name}', and there is no template of that name",
                hint="add that file to the templates folder, or correct the name",
            ) from None
        except jinja2.TemplateError as exc:
            line = _template_line(exc, template.filename)
            where = template.filename or name
            raise TemplateError(
                f"{where}{f', line {line}' if line else ''}: "
                f"{_named_wrong(exc.message or str(exc), self.env)}",
                hint=_SANDBOX_HINT if isinstance(exc, SecurityError) else None,
            ) from None
        except Exception as exc:  # a filter or a test raised; still a template problem
            line = _template_line(exc, template.filename)
            raise TemplateError(
                f"{template.filename or name}{f', line {line}' if line else ''}: {exc}"
            ) from None


# Jinja's words for a filter, test or tag it does not know; each gets the closest known name.
_UNKNOWN_NAME = re.compile(r"^(No filter named|No test named|Encountered unknown tag) '([^']+)'")
_TAGS = ("autoescape", "block", "call", "do", "extends", "filter", "for", "from", "if", "import",
         "include", "macro", "raw", "set", "with")  # fmt: skip


def _named_wrong(message: str | None, env: jinja2.Environment) -> str:
    """Jinja's ``message``, with "did you mean" when it names an unknown filter, test or tag."""
    text = message or ""
    found = _UNKNOWN_NAME.match(text)
    if found is None or "was looking for" in text:  # Jinja already names the tags it expects
        return text
    kind, name = found.groups()
    known = env.filters if "filter" in kind else env.tests if "test" in kind else _TAGS
    hint = _did_you_mean(name, known)
    return f"{text.rstrip('.')}{hint}" if hint and "did you mean" not in text else text


def _template_line(exc: BaseException, filename: str | None) -> int | None:
    if not filename:
        return None
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return lines[-1] if lines else None


@functools.lru_cache(maxsize=16)
def _form_base(url: str) -> tuple[SplitResult, str]:
    # The form's own query, the same for every teacher: parsed and encoded once a run.
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "usp"]
    query.append(("usp", "pp_url"))
    return parts, urlencode(query)


def prefilled_link(form: Form, teacher: Teacher, cycle_name: str) -> str:
    """The form's address with this teacher's answers filled in (``usp=pp_url&entry.N=...``)."""
    fields = Fields(teacher)
    parts, base = _form_base(form.url)
    query: list[tuple[str, str]] = []
    for name, entry in form.prefill.items():
        if name == "cycle":
            value = cycle_name
        elif name in fields:
            value = fields[name]
        else:
            raise ConfigError(
                f"form.prefill.{name}: the roster has no field {name!r}"
                f"{_did_you_mean(name, ['cycle', *fields])}",
                hint=f"fields are: cycle, {', '.join(sorted(fields))}",
            )
        query.append((entry, value))
    own = urlencode(query)
    return urlunsplit(parts._replace(query=f"{base}&{own}" if own else base))
