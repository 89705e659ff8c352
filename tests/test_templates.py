"""Templates: strict fields with clear errors, the school's own copies over the defaults,
escaping for HTML and Markdown, and the prefilled form link."""

from __future__ import annotations

import types
from dataclasses import dataclass, replace
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jinja2
import pytest
from conftest import ROSTER_HEADER, ROSTER_ROWS, Project
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pdmail import cycles
from pdmail.config.records import Form
from pdmail.cycle.messages import Composer, build_request, teacher_context
from pdmail.cycle.tick import tick
from pdmail.errors import ConfigError, TemplateError
from pdmail.mail.markdown import md_join
from pdmail.mail.templates import (
    Templates,
    _compiled_cache,
    _CompiledCache,
    md_escape,
    prefilled_link,
)
from pdmail.models import Teacher
from pdmail.resources import builtin_templates

DAY = date(2026, 12, 1)


def own_templates(project: Project, files: dict[str, str]) -> Path:
    folder = project.folder / "my-templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    project.write_config({"templates": "my-templates"})
    return folder


def request_for(project: Project, email: str = "ann@school.example.org") -> EmailMessage:
    with project.workspace(DAY) as ws:
        cycle = cycles.cycle(ws.config, "2026-12")
        teacher = ws.roster.get(email)
        assert teacher is not None
        return build_request(Composer.of(ws), cycle, teacher).message


def part(msg: EmailMessage, subtype: str) -> str:
    body = msg.get_body((subtype,))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


# --- strict fields and errors ---------------------------------------------------------------


def test_an_unknown_roster_field_names_the_file_line_and_fields(project: Project) -> None:
    folder = own_templates(
        project, {"request.txt.j2": "Hi {{ teacher.first_name }},\n\nRoom: {{ teacher.room }}\n"}
    )
    with pytest.raises(TemplateError) as exc:
        request_for(project)
    message = exc.value.message
    assert str(folder / "request.txt.j2") in message
    assert "line 3" in message
    assert "the roster has no field 'room'" in message
    assert "first_name" in message and "team" in message  # the fields there are


def test_a_template_error_stops_the_tick_before_anything_is_sent(project: Project) -> None:
    own_templates(project, {"request.html.j2": "{{ teacher.room_number }}"})
    with project.workspace(DAY) as ws, pytest.raises(TemplateError) as exc:
        tick(ws, DAY)
    assert "the roster has no field 'room_number'" in exc.value.message
    assert not project.outbox.exists()


def test_an_extra_roster_column_is_a_field(project: Project) -> None:
    project.write_roster([[*r, "B12"] for r in ROSTER_ROWS], [*ROSTER_HEADER, "Room #"])
    own_templates(project, {"request.txt.j2": "Room {{ teacher.room }}\n"})
    assert part(request_for(project), "plain") == "Room B12\n"


def test_an_unknown_context_name_is_an_error_too(project: Project) -> None:
    folder = own_templates(project, {"request.subject.j2": "{{ cycle.mnth }} update"})
    with pytest.raises(TemplateError) as exc:
        request_for(project)
    assert str(folder / "request.subject.j2") in exc.value.message
    assert "mnth" in exc.value.message


def test_a_syntax_error_names_the_file_and_line(project: Project) -> None:
    folder = own_templates(project, {"request.txt.j2": "Hi\n{% if teacher.team %}\nno end\n"})
    with pytest.raises(TemplateError) as exc:
        request_for(project)
    assert str(folder / "request.txt.j2") in exc.value.message
    assert "line" in exc.value.message


def test_a_missing_template_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as exc:
        Templates(tmp_path).render("nope.txt.j2", {})
    assert "'nope.txt.j2' not found" in exc.value.message


# --- the school's own templates -------------------------------------------------------------


def test_the_schools_template_overrides_one_default(project: Project) -> None:
    folder = own_templates(project, {"request.subject.j2": "Our own: {{ cycle.month }}\n"})
    msg = request_for(project)
    assert msg["Subject"] == "Our own: December 2026"
    # The other templates still come from pdmail's defaults.
    assert "library check-in" in part(msg, "plain")
    assert "library check-in" in part(msg, "html")
    templates = Templates(folder)
    assert templates.where("request.subject.j2") == str(folder / "request.subject.j2")
    assert templates.where("request.txt.j2") != str(folder / "request.txt.j2")
    assert Path(templates.where("request.txt.j2")).is_file()


# --- escaping -------------------------------------------------------------------------------

HOSTILE_NAME = '<b>Ann</b> & "Co"'


def test_html_autoescapes_teacher_values_and_text_does_not(project: Project) -> None:
    rows = [[r[0], HOSTILE_NAME, *r[2:]] if r[1] == "Ann" else r for r in ROSTER_ROWS]
    project.write_roster(rows)
    msg = request_for(project)
    assert "Hi &lt;b&gt;Ann&lt;/b&gt; &amp; &#34;Co&#34;," in part(msg, "html")
    assert "<b>Ann" not in part(msg, "html")
    assert f"Hi {HOSTILE_NAME}," in part(msg, "plain")


@pytest.mark.parametrize(
    ("name", "escaped"), [("x.html.j2", True), ("x.txt.j2", False), ("x.md.j2", False)]
)
def test_autoescape_by_file_name(tmp_path: Path, name: str, escaped: bool) -> None:
    (tmp_path / name).write_text("{{ v }}", encoding="utf-8")
    out = Templates(tmp_path).render(name, {"v": "<i>a</i> & b"})
    assert out == ("&lt;i&gt;a&lt;/i&gt; &amp; b" if escaped else "<i>a</i> & b")


@pytest.mark.parametrize(
    ("value", "markdown"),
    [
        ("plain text", "plain text"),
        ("a*b*c", r"a\*b\*c"),
        ("_under_", r"\_under\_"),
        ("`code`", r"\`code\`"),
        ("[link](http://evil.example)", r"\[link\](http://evil.example)"),
        ("![img](http://evil.example/x.png)", r"!\[img\](http://evil.example/x.png)"),
        ("a|b", r"a\|b"),
        ("~~gone~~", r"\~\~gone\~\~"),
        ("back\\slash", r"back\\slash"),
        ("<script>x</script>", "&lt;script>x&lt;/script>"),
        ("Q&A", "Q&amp;A"),
        ("&lt;", "&amp;lt;"),
        ("line one\nline two\r\n\n- item", "line one line two - item"),
        ("  padded  ", "padded"),
        (42, "42"),
    ],
)
def test_md_escape(value: object, markdown: str) -> None:
    assert md_escape(value) == markdown


def test_md_filter_in_a_template(tmp_path: Path) -> None:
    (tmp_path / "x.md.j2").write_text("- {{ v|md }}\n", encoding="utf-8")
    assert Templates(tmp_path).render("x.md.j2", {"v": "*bold*\n# h"}) == "- \\*bold\\* # h\n"


@dataclass(frozen=True)
class _Item:
    name: str
    tags: tuple[str, ...] = ()
    _secret: str = "hidden"

    @property
    def shout(self) -> str:
        return self.name.upper()

    def greet(self, who: str) -> str:
        return f"{self.name} greets {who}"


# Attribute reads a template makes, plain and hostile: pdmail's sandbox answers each one as
# Jinja's own immutable sandbox does (the same text, or the same error).
_READS = [
    "{{ item.name }} {{ item.shout }} {{ item.greet('Raj') }} {{ item.tags|join(',') }}",
    "{{ item.missing is defined }} {{ mapping.key }} {{ mapping.items()|list }}",
    "{{ mapping.nokey }}",
    "{{ item.missing }}",
    "{{ item._secret }}",
    "{{ item.__class__ }}",
    "{{ item.greet.__globals__ }}",
    "{{ '{0.__class__}'.format(item) }}",
    "{{ '{0.name}'.format(item) }} {{ '{x}'.format_map(mapping) }}",
    "{{ (text ~ ' {}').format('x') }} {{ text.format is callable }}",
    "{{ mapping.update }}",
    "{% set l = [1] %}{{ l.append(2) }}",
    "{{ (1).real }} {{ 'abc'.upper() }} {{ none.x is defined }}",
    # Subscripts, and the filters that read an attribute of each item (they subscript it).
    "{{ item['name'] }} {{ item['shout'] }} {{ item['greet']('Raj') }} {{ mapping['key'] }}",
    "{{ [item]|map(attribute='shout')|join }} {{ [item, item]|groupby('name')|list|length }}",
    "{{ [item]|selectattr('name', 'equalto', 'ann')|list|length }} {{ item[0] is defined }}",
    "{{ [item]|rejectattr('missing')|list|length }} {{ [item]|map(attribute='greet')|first }}",
    "{{ item['missing'] }}",
    "{{ item['_secret'] }}",
    "{{ [item]|map(attribute='_secret')|list }}",
    "{{ item['__class__'] }}",
    "{{ mapping['nokey'] }}",
    "{{ text['upper']() }} {{ text[0] }} {{ (text ~ ' {}')['format']('x') }}",
]


@pytest.mark.parametrize("source", _READS)
def test_attributes_are_read_as_jinjas_own_sandbox_reads_them(source: str) -> None:
    ours = Templates(None).env
    # The same environment, with Jinja's own getattr and getitem in place of pdmail's quicker
    # ones.
    reference = type(ours)(**{k: getattr(ours, k) for k in ("undefined", "autoescape")})
    reference.getattr = types.MethodType(ImmutableSandboxedEnvironment.getattr, reference)  # type: ignore[method-assign]
    reference.getitem = types.MethodType(ImmutableSandboxedEnvironment.getitem, reference)  # type: ignore[method-assign]
    context = {"item": _Item("ann", ("a", "b")), "mapping": {"key": "v", "x": 1}, "text": "t"}

    def outcome(env: jinja2.Environment) -> str:
        try:
            return env.from_string(source).render(context)
        except Exception as exc:  # the kind of error and its words are what is compared
            return f"{type(exc).__name__}: {exc}"

    assert outcome(ours) == outcome(reference)
    # Twice: a second read comes from what the sandbox remembers of the first.
    assert outcome(ours) == outcome(reference)


# --- the prefilled form link ----------------------------------------------------------------

ANN = Teacher("ann@school.example.org", "Ann", "Lee", "Grade 6",
              fields={"email": "ann@school.example.org", "room": "B 12"})  # fmt: skip
MARIA = Teacher("maria@school.example.org", "María José", "Gómez", "Grade 7")
AMP = Teacher("amp@school.example.org", "Ann & Co=1", "", "")
FORM_URL = "https://docs.google.com/forms/d/e/FORMID/viewform"
PREFILL = {"email": "entry.111", "first_name": "entry.222", "cycle": "entry.333"}


@pytest.mark.parametrize(
    ("url", "prefill", "teacher", "expected"),
    [
        (
            FORM_URL, PREFILL, ANN,
            FORM_URL + "?usp=pp_url&entry.111=ann%40school.example.org&entry.222=Ann"
            "&entry.333=2026-12",
        ),
        (
            FORM_URL, PREFILL, MARIA,
            FORM_URL + "?usp=pp_url&entry.111=maria%40school.example.org"
            "&entry.222=Mar%C3%ADa+Jos%C3%A9&entry.333=2026-12",
        ),
        (
            FORM_URL, {"first_name": "entry.222"}, AMP,
            FORM_URL + "?usp=pp_url&entry.222=Ann+%26+Co%3D1",
        ),
        (
            FORM_URL + "?hl=en&usp=sf_link", {"cycle": "entry.333"}, ANN,
            FORM_URL + "?hl=en&usp=pp_url&entry.333=2026-12",
        ),
        (
            FORM_URL + "?usp=header", {"room": "entry.444", "team": "entry.555"}, ANN,
            FORM_URL + "?usp=pp_url&entry.444=B+12&entry.555=Grade+6",
        ),
        (FORM_URL, {}, ANN, FORM_URL + "?usp=pp_url"),
    ],
)  # fmt: skip
def test_prefilled_link(
    project: Project, url: str, prefill: dict[str, str], teacher: Teacher, expected: str
) -> None:
    form: Form = replace(project.config().form, url=url, prefill=prefill)
    link = prefilled_link(form, teacher, "2026-12")
    assert link == expected
    # Decoded, the values are the teacher's own.
    values = dict(parse_qsl(urlsplit(link).query))
    assert values["usp"] == "pp_url"
    if "first_name" in prefill:
        assert values[prefill["first_name"]] == teacher.first_name


def test_an_unknown_prefill_field_is_a_config_error(project: Project) -> None:
    form = replace(project.config().form, prefill={"email": "entry.1", "homeroom": "entry.2"})
    with pytest.raises(ConfigError) as exc:
        prefilled_link(form, ANN, "2026-12")
    assert "form.prefill.homeroom" in exc.value.message
    assert exc.value.hint is not None and "room" in exc.value.hint


def test_the_request_carries_the_prefilled_link(project: Project) -> None:
    msg = request_for(project, "maria@school.example.org")
    with project.workspace(DAY) as ws:
        teacher = ws.roster.get("maria@school.example.org")
        assert teacher is not None
        link = teacher_context(ws.config, cycles.cycle(ws.config, "2026-12"), teacher)["form_link"]
    assert link.startswith(FORM_URL + "?usp=pp_url&")
    assert sorted(parse_qsl(urlsplit(link).query)) == [
        ("entry.111", "maria@school.example.org"),
        ("entry.222", "María"),
        ("entry.333", "2026-12"),
        ("usp", "pp_url"),
    ]
    assert link in part(msg, "plain")
    assert f'href="{link.replace("&", "&amp;")}"' in part(msg, "html")


# --- a templates folder or file that cannot be used ------------------------------------------


def test_a_configured_templates_folder_that_is_missing_is_a_config_error(project: Project) -> None:
    project.write_config({"templates": "my-templates"})
    with pytest.raises(ConfigError) as exc:
        project.config()
    lines = project.config_path.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("templates:"))
    assert exc.value.message == (
        f"pdmail.yaml, line {line}: templates: the folder {project.folder / 'my-templates'} "
        "does not exist"
    )
    assert "remove the 'templates' key" in (exc.value.hint or "")


def test_a_templates_path_that_is_a_file_is_a_config_error(project: Project) -> None:
    (project.folder / "templates").write_text("not a folder", encoding="utf-8")
    project.write_config({"templates": "templates"})
    with pytest.raises(ConfigError, match="is a file, not a folder of templates"):
        project.config()


def test_templates_never_fall_back_quietly_from_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"templates: the folder .*gone does not exist"):
        Templates(tmp_path / "gone")


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        pytest.param(b"Hi {{ teacher.first_name }},\ncaf\xe9\n", "byte 0xe9 on line 2, byte "
                     "offset 32", id="cp1252"),
        pytest.param("Hi\n".encode("utf-16"), "byte 0xff on line 1, byte offset 0", id="utf-16"),
    ],
)  # fmt: skip
def test_a_template_that_is_not_utf8_names_the_file_and_byte(
    tmp_path: Path, data: bytes, detail: str
) -> None:
    (tmp_path / "request.txt.j2").write_bytes(data)
    templates = Templates(tmp_path)
    with pytest.raises(TemplateError) as exc:
        templates.render("request.txt.j2", {})
    assert exc.value.message == f"{tmp_path / 'request.txt.j2'}: not UTF-8 text ({detail})"
    assert templates.where("request.txt.j2") == str(tmp_path / "request.txt.j2")


# --- pdmail's templates compiled once and kept ---------------------------------------------


def kept_templates(tmp_path: Path, kept: bool = True) -> tuple[Templates, Path, Path]:
    """Templates from a folder whose compiled code is kept in a cache folder of its own (as
    the school's and pdmail's templates are), or, with ``kept`` False, a cache for another
    folder."""
    folder, cache = tmp_path / "templates", tmp_path / "cache"
    folder.mkdir()
    cache.mkdir()
    (folder / "note.txt.j2").write_text("{{ who|md }} {{ n|plural('need') }}\n", encoding="utf-8")
    templates = Templates(folder)
    keeps = folder if kept else tmp_path / "elsewhere"
    templates.env.bytecode_cache = _CompiledCache(str(cache), templates.env, [keeps], "tag")
    return templates, folder, cache


def test_a_kept_template_is_loaded_compiled_and_renders_the_same(tmp_path: Path) -> None:
    first, folder, cache = kept_templates(tmp_path)
    assert first.render("note.txt.j2", {"who": "a*b", "n": 2}) == "a\\*b needs\n"
    assert len(list(cache.iterdir())) == 1
    again = Templates(folder)
    again.env.bytecode_cache = first.env.bytecode_cache
    compiled: list[str] = []
    real = again.env.compile

    def compile_counted(*args: Any, **kwargs: Any) -> Any:
        compiled.append(args[1] if len(args) > 1 else "")
        return real(*args, **kwargs)

    again.env.compile = compile_counted  # type: ignore[method-assign]
    assert again.render("note.txt.j2", {"who": "a*b", "n": 1}) == "a\\*b need\n"
    assert compiled == []  # loaded, not compiled
    # An edit is compiled again, and renders as edited.
    (folder / "note.txt.j2").write_text("{{ who|md }}!\n", encoding="utf-8")
    assert Templates(folder).render("note.txt.j2", {"who": "<b>"}) == "&lt;b>!\n"
    edited = Templates(folder)
    edited.env.bytecode_cache = first.env.bytecode_cache
    assert edited.render("note.txt.j2", {"who": "<b>"}) == "&lt;b>!\n"
    assert len(list(cache.iterdir())) == 1  # the edit replaced its entry


def test_the_schools_templates_are_kept_beside_pdmails(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "note.txt.j2").write_text("{{ who|md }}\n", encoding="utf-8")
    templates = Templates(folder)
    cache = templates.env.bytecode_cache
    if cache is None:
        pytest.skip("no private cache folder of this user's own here")
    assert isinstance(cache, _CompiledCache)
    school = cache.get_bucket(templates.env, "note.txt.j2", str(folder / "note.txt.j2"), "x")
    builtin = builtin_templates() / "digest.md.j2"
    own = cache.get_bucket(templates.env, "digest.md.j2", str(builtin), "x")
    elsewhere = cache.get_bucket(templates.env, "note.txt.j2", str(tmp_path / "note.txt.j2"), "x")
    assert school.key and own.key and school.key != own.key
    assert not elsewhere.key  # a file outside both folders is never kept


def test_only_templates_from_the_folders_read_are_kept(tmp_path: Path) -> None:
    templates, _, cache = kept_templates(tmp_path, kept=False)
    assert templates.render("note.txt.j2", {"who": "x", "n": 1}) == "x need\n"
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "unwritable"])
def test_a_cache_that_cannot_be_used_is_passed_over(tmp_path: Path, damage: str) -> None:
    templates, folder, cache = kept_templates(tmp_path)
    templates.render("note.txt.j2", {"who": "x", "n": 1})
    [kept] = cache.iterdir()
    if damage == "garbage":
        kept.write_bytes(b"not a cache at all")
    elif damage == "truncated":
        kept.write_bytes(kept.read_bytes()[:40])
    else:  # a file where the folder should be: nothing can be read or written there
        kept.unlink()
        assert isinstance(templates.env.bytecode_cache, _CompiledCache)
        templates.env.bytecode_cache.directory = str(folder / "note.txt.j2")
    again = Templates(folder)
    again.env.bytecode_cache = templates.env.bytecode_cache
    assert again.render("note.txt.j2", {"who": "y", "n": 3}) == "y needs\n"


def test_what_is_kept_depends_on_the_filters_and_the_escaping(tmp_path: Path) -> None:
    templates = Templates()
    cache = _compiled_cache(templates.env, [tmp_path])
    assert cache is not None
    plain = cache.get_cache_key("digest.md.j2", "/x/digest.md.j2")
    assert cache.get_cache_key("digest.html.j2", "/x/digest.md.j2") != plain  # autoescaped
    more = Templates()
    more.env.filters["shout"] = str.upper
    other = _compiled_cache(more.env, [tmp_path])
    assert other is not None
    assert other.get_cache_key("digest.md.j2", "/x/digest.md.j2") != plain
    # The same filter name, passed the rendering's context or not, compiles to another call.
    passed = Templates()
    passed.env.filters["md_join"] = md_join
    changed = _compiled_cache(passed.env, [tmp_path])
    assert changed is not None
    assert changed.get_cache_key("digest.md.j2", "/x/digest.md.j2") != plain
    same = _compiled_cache(Templates().env, [tmp_path])
    assert same is not None
    assert same.get_cache_key("digest.md.j2", "/x/digest.md.j2") == plain
