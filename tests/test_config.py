"""Reading pdmail.yaml: every key once, every YAML mistake in plain words, the line named."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import BASE_CONFIG
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdmail.config.load import load_config
from pdmail.config.yamlfile import YamlProblem, load_yaml
from pdmail.errors import ConfigError

GOOD = yaml.safe_dump(BASE_CONFIG, sort_keys=False)


def refused(tmp_path: Path, text: str | bytes) -> ConfigError:
    path = tmp_path / "pdmail.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    return exc.value


def test_the_good_config_loads(tmp_path: Path) -> None:
    (tmp_path / "pdmail.yaml").write_text(GOOD, encoding="utf-8")
    assert load_config(tmp_path / "pdmail.yaml").school == "Test School"


# -- a key set twice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("school: A\ntimezone: UTC\ncalendar:\n  send_day: 1\nmail:\n  kind: outbox\n"
                     "calendar:\n  send_day: 3\n",
                     "line 7: 'calendar' is set twice, on line 3 and on line 7", id="top-level"),
        pytest.param("mail:\n  smtp:\n    port: 587\n    host: smtp.x.org\n    port: 25\n",
                     "line 5: 'mail.smtp.port' is set twice, on line 3 and on line 5", id="nested"),
        pytest.param("school: A\n'school': B\n", "'school' is set twice, on line 1 and on line 2",
                     id="quoted-and-plain"),
        pytest.param("calendar:\n  skip:\n    - {a: 1, a: 2}\n",
                     "'calendar.skip[0].a' is set twice, on line 3 and on line 3", id="in-a-list"),
        pytest.param("school: A\n\n# notes\nschool: B\n", "on line 1 and on line 4", id="far"),
    ],
)  # fmt: skip
def test_a_key_set_twice_names_both_lines(tmp_path: Path, text: str, message: str) -> None:
    error = refused(tmp_path, text)
    assert error.message.startswith(f"{tmp_path / 'pdmail.yaml'}, line ")
    assert message in error.message
    assert error.hint and "keep one" in error.hint


def test_a_merge_key_may_still_be_overridden() -> None:
    data = load_yaml("base: &b {port: 25, host: x}\nsmtp:\n  <<: *b\n  port: 587\n")
    assert data["smtp"] == {"port": 587, "host": "x"}


def test_aliases_are_checked_once_not_expanded() -> None:
    # A "billion laughs" of aliases is walked node by node, never expanded.
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
    )
    assert set(load_yaml(text)) == {chr(97 + i) for i in range(9)}


# -- YAML mistakes in plain words ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        pytest.param("school: A\nmail:\n\tkind: outbox\n", 3, 1, "tab character", id="tab"),
        pytest.param("school: A\ntimezone: Europe/London: x\n", 2, 24, "second ': '", id="colon"),
        pytest.param("mail:\n  kind: smtp\n   host: x\n", 3, 8, "indented more than line 2",
                     id="indented-more"),
        pytest.param("mail:\n    kind: smtp\n  host: x\n", 3, 3, "indented differently",
                     id="indented-less"),
        pytest.param("school: A\ntimezone\nmail: x\n", 2, 1, "no ':' after its key",
                     id="no-colon"),
        pytest.param("mail:\n  kind smtp\n  host: x\n", 2, 3, "no ':' after its key",
                     id="no-colon-nested"),
        pytest.param("school: 'A\ntimezone: UTC\n", 1, 9, "quote (') opened here is never closed",
                     id="unclosed-quote"),
        pytest.param("school: A\nmonths: [1, 2\ntimezone: UTC\n", 2, 9,
                     "'[' opened here is never closed", id="unclosed-bracket"),
        pytest.param("school: {a: 1\n", 1, 9, "'{' opened here is never closed", id="brace"),
        pytest.param("school: 'it's'\n", 1, 13, "text after the closing quote", id="apostrophe"),
        pytest.param('state: "C:\\Users\\x"\n', 1, 13, "backslash starts an escape",
                     id="windows-path"),
        pytest.param("school: @x\n", 1, 9, "cannot begin with '@'", id="at-sign"),
        pytest.param("school: `x`\n", 1, 9, "cannot begin with '`'", id="backtick"),
        pytest.param("school: *x\n", 1, 9, "names an anchor that is not defined", id="alias"),
        pytest.param("school: !!python/object:os.system x\n", 1, 9,
                     "'!!python/object:os.system' is not allowed", id="python-tag"),
        pytest.param("school: A\n- y\n", 2, 1, "a list item ('- ...')", id="list-item"),
        pytest.param("a: 1\n---\nb: 2\n", 2, 1, "second YAML document", id="two-documents"),
        pytest.param("school: A\x07B\n", 1, 10, "control character (code 0x07)", id="control"),
    ],
)  # fmt: skip
def test_yaml_mistakes_are_explained_with_line_and_column(
    tmp_path: Path, text: str, line: int, column: int, words: str
) -> None:
    error = refused(tmp_path, text)
    assert error.message.startswith(f"{tmp_path / 'pdmail.yaml'}, line {line}: ")
    assert error.message.endswith(f"(column {column})")
    assert words in error.message
    for jargon in ("scalar", "token", "<block", "mapping values", "simple key", "stream"):
        assert jargon not in error.message
    assert error.hint


def test_load_yaml_reports_a_problem_object() -> None:
    with pytest.raises(YamlProblem) as exc:
        load_yaml("a: 1\na: 2\n")
    assert (exc.value.line, exc.value.column) == (2, 1)


# -- files that are not a config at all ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "the config file is empty", id="empty"),
        pytest.param(b"# all\n# commented out\n", "the config file is empty", id="comments"),
        pytest.param(b"- a\n- b\n", "the config file holds a list, not settings", id="list"),
        pytest.param(b"hello\n", "the config file holds 'hello', not settings", id="scalar"),
        pytest.param(b"school: \xe9cole\n", "not UTF-8 text (byte 0xe9 on line 1, byte offset 8)",
                     id="latin-1"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_settings_is_refused(tmp_path: Path, data: bytes, message: str) -> None:
    error = refused(tmp_path, data)
    assert error.message.startswith(f"{tmp_path / 'pdmail.yaml'}: {message}")
    assert error.hint


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_notepad_encodings_with_a_byte_order_mark_are_read(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "pdmail.yaml").write_bytes(GOOD.replace("Test School", "École").encode(encoding))
    assert load_config(tmp_path / "pdmail.yaml").school == "École"


def test_a_folder_in_place_of_the_config(tmp_path: Path) -> None:
    (tmp_path / "pdmail.yaml").mkdir()
    assert (
        refused_folder(tmp_path).message
        == f"{tmp_path / 'pdmail.yaml'}: is a folder, not a config file"
    )


def refused_folder(tmp_path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        load_config(tmp_path / "pdmail.yaml")
    return exc.value


# -- a wrong value is placed on its line -----------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("  send_day: 1\n", "  send_day: first\n", "calendar.send_day"),
        ("  - 2026-12-21..2027-01-01\n", "  - 12/21/2026\n", "calendar.skip[0]"),
        ("timezone: America/Chicago\n", "timezone: Mars/Base\n", "timezone"),
        ("  kind: outbox\n", "  kind: outbox\n  knid: smtp\n", "mail.knid"),
    ],
)
def test_a_wrong_value_names_its_line(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in GOOD
    text = GOOD.replace(old, new)
    line = text.splitlines().index(new.splitlines()[-1]) + 1
    error = refused(tmp_path, text)
    assert error.message.startswith(f"pdmail.yaml, line {line}: {key}: ")


@pytest.mark.parametrize(
    ("key", "extra"),
    [
        ("state", {"state": "taken"}),
        ("mail.outbox", {"mail": {"kind": "outbox", "outbox": "taken"}}),
        ("digest.out", {"digest": {"out": "taken"}}),
    ],
)
def test_a_file_where_pdmail_writes_a_folder_is_refused_at_once(
    tmp_path: Path, key: str, extra: dict[str, object]
) -> None:
    (tmp_path / "taken").write_text("a file", encoding="utf-8")
    text = yaml.safe_dump({**BASE_CONFIG, **extra}, sort_keys=False)
    error = refused(tmp_path, text)
    assert f": {key}: {tmp_path / 'taken'} is a file, not a folder" in error.message


@pytest.mark.parametrize(
    ("written", "number", "quoted"), [("12:30", 750, "12:30"), ("7:05", 425, "07:05")]
)
def test_an_unquoted_time_read_as_a_number_says_so(
    tmp_path: Path, written: str, number: int, quoted: str
) -> None:
    text = GOOD.replace("calendar:\n", f"calendar:\n  run_at: {written}\n", 1)
    error = refused(tmp_path, text)
    assert f"calendar.run_at: YAML read the unquoted time {written} as the number {number}" in (
        error.message
    )
    assert error.hint == f"put the time in quotes: run_at: '{quoted}'"


def test_a_date_where_text_belongs_is_shown_as_written(tmp_path: Path) -> None:
    error = refused(tmp_path, GOOD.replace("school: Test School", "school: 2026-09-01"))
    assert error.message.endswith("school: expected text, got the date 2026-09-01")


def test_a_config_nested_thousands_deep_is_refused_not_crashed(tmp_path: Path) -> None:
    error = refused(tmp_path, "school: " + "[" * 10_000 + "\n")
    assert "nests lists or mappings hundreds of levels deep" in error.message


_YAMLISH = st.text(st.sampled_from(list("ab:-[]{}'\"#&*!|>%@` \t\n\\,.?0125")), max_size=80)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=_YAMLISH | st.binary(max_size=120))
def test_any_file_is_loaded_or_refused_with_a_config_error(
    tmp_path: Path, text: str | bytes
) -> None:
    path = tmp_path / "pdmail.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    try:
        load_config(path)
    except ConfigError as exc:
        assert "pdmail.yaml" in exc.message


@pytest.mark.parametrize(("value", "line"), [("2026-02-30", 2), ("[2026-12-21, 2026-13-01]", 2)])
def test_a_date_with_no_such_day_names_its_line(tmp_path: Path, value: str, line: int) -> None:
    error = refused(tmp_path, f"school: A\nstate: {value}\n")
    assert error.message.startswith(f"{tmp_path / 'pdmail.yaml'}, line {line}: '")
    assert "is written as a date, but there is no such day" in error.message


def test_a_skip_day_written_with_a_time_is_that_day(tmp_path: Path) -> None:
    text = GOOD.replace("  - 2026-12-21..2027-01-01\n", "  - 2026-12-21 08:00:00\n")
    assert text != GOOD
    (tmp_path / "pdmail.yaml").write_text(text, encoding="utf-8")
    calendar = load_config(tmp_path / "pdmail.yaml").calendar
    assert calendar.skip == ((date(2026, 12, 21), date(2026, 12, 21)),)
    assert not calendar.is_school_day(date(2026, 12, 21))


# The same file read with libyaml's parser (when PyYAML has it) and with the pure-Python one:
# the same document and key lines, or the same problem, word for word.
_YAML_CASES = [
    "",
    "# only a comment\n",
    (Path(__file__).parent.parent / "config.example.yaml").read_text(encoding="utf-8"),
    "a: 1\na: 2\n",
    "top:\n  x: 1\n  y:\n    - 1\n    - {z: 2, z: 3}\n",
    "base: &b {port: 25, host: x}\nsmtp:\n  <<: *b\n  port: 587\n",
    "when: 2026-02-30\n",
    "a:\n\t- b\n",
    "a: [1, 2\n",
    "a: 'unclosed\n",
    "a: b: c\n",
    "school: Ecole \u00e9l\u00e9mentaire \u2014 \U0001f4da\n",
    "\ufeffschool: BOM first\n",
    "a: \x07bell\n",
    "a: \x85next line\n",
    "- [" * 200 + "]" * 200 + "\n",
    "list:\n- a\n- b\nkey: |\n  text\n   more\n",
    "? [complex, key]\n: value\n",
    "%YAML 1.1\n---\na: 1\n",
    "a: 1\n---\nb: 2\n",
    "x: !!python/object:os.system 'echo'\n",
    "yes: no\non: off\n0x1F: 010\n",
]


@pytest.mark.parametrize("text", _YAML_CASES)
def test_libyaml_and_the_pure_parser_read_a_file_alike(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    def read() -> tuple[object, dict[str, int]] | str:
        lines: dict[str, int] = {}
        try:
            return load_yaml(text, lines), lines
        except YamlProblem as exc:
            return f"{exc.line}:{exc.column}: {exc.message} | {exc.hint}"

    fast = read()
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert read() == fast


def test_a_good_file_is_read_by_libyaml_when_pyyaml_has_it() -> None:
    import yaml

    from pdmail.config.yamlfile import _fast_load

    text = (Path(__file__).parent.parent / "config.example.yaml").read_text(encoding="utf-8")
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("this PyYAML was built without libyaml")
    assert _fast_load(text, None) is not None
    assert _fast_load("a: 1\na: 2\n", None) is None  # a duplicate key: the slow path says it
