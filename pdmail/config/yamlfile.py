"""Read a YAML file the way a person wrote it: every key once, every mistake in plain words.

PyYAML keeps the last of two equal keys without a word, so a second ``calendar:`` block
silently replaces the first; here it is an error naming the key and both lines. Its syntax
errors speak of tokens, scalars and block ends; here they say what is wrong with the line
(a tab, a second colon, an indentation that matches nothing above, a quote never closed)
and keep the column as a short pointer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["YamlProblem", "load_yaml", "read_text_file"]

_MERGE_TAG = "tag:yaml.org,2002:merge"
# at(mark, message, hint): a problem at a YAML mark, with the line's text in the hint.
_At = Callable[..., "YamlProblem"]


@dataclass(frozen=True)
class YamlProblem(Exception):
    """What is wrong, where: ``line``/``column`` are 1-based (0 when unknown)."""

    line: int
    column: int
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        return self.message


def load_yaml(text: str, lines: dict[str, int] | None = None) -> Any:
    """Parse one YAML document with the safe loader; ``None`` for an empty document.

    Raises :class:`YamlProblem` for a syntax error (explained in plain words, with the line and
    column) and for a key that appears twice in one mapping at any depth (naming the key as a
    dotted path and both lines). Merge keys (``<<: *defaults``) may still be overridden.
    ``lines``, when given, is filled with the line of every key and list item by its dotted
    path (``calendar.send_day``, ``calendar.skip[0]``), for messages about their values.
    """
    fast = _fast_load(text, lines)
    if fast is not None:
        return fast[0]
    try:
        # The loader checks the characters as it is built, so it is built inside the try.
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise _explain(exc, text) from None
    node: Node | None = None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_keys(node, {} if lines is None else lines)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _explain(exc, text) from None
    except (ValueError, OverflowError) as exc:
        # The safe loader's own date reading raises these for 2026-02-30 and the like.
        if node is None:
            raise YamlProblem(0, 0, f"YAML cannot read the file ({exc})") from None
        raise _bad_value(loader, node, exc) from None
    except RecursionError:
        # PyYAML reads nested lists and mappings recursively; no config nests this deep.
        raise YamlProblem(
            0, 0, "the file nests lists or mappings hundreds of levels deep; it is not a config"
        ) from None
    finally:
        loader.dispose()


# What PyYAML's own reader refuses (yaml.reader.Reader.NON_PRINTABLE).
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _fast_load(text: str, lines: dict[str, int] | None) -> tuple[Any] | None:
    """The document read with libyaml's parser when PyYAML has it (a config is read by every
    command; the pure-Python parser takes most of that time), or None when it cannot say:
    anything it would refuse or doubt is read again by the pure-Python loader, whose
    messages pdmail explains, so a bad file is reported exactly as before."""
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None or _NON_PRINTABLE.search(text):
        return None
    found: dict[str, int] = {}
    try:
        loader = loader_class(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return (None,)
            _check_keys(node, found)
            document = loader.construct_document(node)
        finally:
            loader.dispose()
    except Exception:  # a syntax error, a bad value, a duplicate key: said by the slow path
        return None
    if lines is not None:
        lines.update(found)
    return (document,)


def _check_keys(root: Node, lines: dict[str, int]) -> None:
    # Walked over the composed nodes, not the built dicts, because only the nodes still know
    # every key and its line. Each node is visited once, so aliases cannot make it loop.
    seen: set[int] = set()
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            first: dict[str, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE_TAG:
                    stack.append((value_node, path))
                    continue
                name = _key_text(key_node)
                dotted = f"{path}.{name}" if path else name
                line = key_node.start_mark.line + 1
                if name in first:
                    raise YamlProblem(
                        line,
                        key_node.start_mark.column + 1,
                        f"'{dotted}' is set twice, on line {first[name]} and on line {line}; "
                        "only one of them can count",
                        hint=f"keep one '{name}:' and put everything that belongs under it "
                        "there (pdmail does not guess which of the two you meant)",
                    )
                first[name] = line
                lines.setdefault(dotted, line)
                stack.append((value_node, dotted))
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                lines.setdefault(f"{path}[{index}]", item.start_mark.line + 1)
                stack.append((item, f"{path}[{index}]"))


def _bad_value(loader: yaml.SafeLoader, root: Node, exc: Exception) -> YamlProblem:
    """The value YAML could not turn into a date (or number), found again by its node."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode) and node.tag.endswith(":timestamp"):
            try:
                loader.construct_yaml_timestamp(node)
            except (ValueError, OverflowError):
                return YamlProblem(
                    node.start_mark.line + 1,
                    node.start_mark.column + 1,
                    f"'{node.value}' is written as a date, but there is no such day",
                    hint="correct the date (YYYY-MM-DD), or put the value in quotes if it is text",
                )
        elif isinstance(node, MappingNode):
            stack.extend(v for pair in node.value for v in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return YamlProblem(0, 0, f"YAML cannot read a value in the file ({exc})")


def _key_text(node: Node) -> str:
    if isinstance(node, ScalarNode):
        # 'port' and "port" are the same key; so are 1 and '1' once the config reads them.
        return str(node.value)
    return f"(a {'list' if isinstance(node, SequenceNode) else 'mapping'} as a key)"


# -- syntax errors in plain words -------------------------------------------------------------


def _explain(exc: yaml.YAMLError, text: str) -> YamlProblem:
    lines = text.splitlines()
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return YamlProblem(
            line,
            column,
            f"the file holds a control character (code {exc.character:#04x}) that "
            "cannot be part of a text file",
            hint="delete it (it is invisible in most editors: retype the line), and save "
            "the file as plain UTF-8 text",
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return YamlProblem(0, 0, f"YAML cannot read the file ({exc})")
    problem = exc.problem or ""
    context = exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    start = exc.context_mark or mark
    line = mark.line + 1 if mark else 0
    column = mark.column + 1 if mark else 0

    def at(where: Any, message: str, hint: str | None = None) -> YamlProblem:
        n = where.line + 1 if where else line
        c = where.column + 1 if where else column
        shown = lines[n - 1].strip() if 0 < n <= len(lines) else ""
        reads = f"line {n} reads: {shown}" if shown else None
        return YamlProblem(
            n, c, message, hint=f"{hint}; {reads}" if hint and reads else hint or reads
        )

    if "'\\t'" in problem or "tab character" in problem:
        return at(mark, "this line has a tab character; YAML indents with spaces only",
                  "replace the tab with spaces")  # fmt: skip
    if "quoted scalar" in context and "end of stream" in problem:
        quote = _char_at(lines, start)
        return at(start, f"the quote ({quote}) opened here is never closed",
                  "close the quote at the end of the value, on the same line")  # fmt: skip
    if "double-quoted" in context and "escape" in problem:
        return at(mark, "inside double quotes a backslash starts an escape such as \\n",
                  "put a value with backslashes (a Windows path) in single quotes, "
                  "or write each backslash twice")  # fmt: skip
    if "flow sequence" in context or "flow mapping" in context:
        opener, closer = ("[", "]") if "sequence" in context else ("{", "}")
        if "stream end" in problem or (start and mark and mark.line != start.line):
            return at(start, f"the '{opener}' opened here is never closed with '{closer}'",
                      f"add the '{closer}', or remove the '{opener}' and write the items on "
                      "their own lines")  # fmt: skip
        return at(mark, f"the items inside '{opener} {closer}' must be separated by commas",
                  "put an item that contains a comma or a colon in quotes")  # fmt: skip
    if "mapping values are not allowed" in problem:
        return _stray_colon(lines, line, column, at, mark)
    if "could not find expected ':'" in problem:
        return at(start, "this line has no ':' after its key; every setting is 'key: value'",
                  "add the colon (and a space after it), or join the line to the one above "
                  "if it continues a value")  # fmt: skip
    if "expected <block end>" in problem or "did not find expected" in problem:
        if "'<scalar>'" in problem and _char_before(lines, mark) in "'\"":
            return at(mark, "there is text after the closing quote",
                      "to put ' inside a value, wrap the value in double quotes, or write the "
                      "' twice inside single quotes (e.g. 'Children''s Library')")  # fmt: skip
        if "'-'" in problem:
            return at(mark, "a list item ('- ...') is where a setting was expected",
                      "indent list items under the key they belong to")  # fmt: skip
        return at(mark, "this line is indented differently from the lines above it",
                  "line each setting up with the others of its group; "
                  "indent with spaces, never tabs")  # fmt: skip
    if "cannot start any token" in problem:
        char = re.search(r"character '(.+?)'", problem)
        shown = char.group(1) if char else "this character"
        return at(mark, f"a value cannot begin with '{shown}' unless it is in quotes",
                  "put the value in quotes")  # fmt: skip
    if "constructor for the tag" in problem:
        tag = re.search(r"tag '(.+?)'", problem)
        name = tag.group(1).replace("tag:yaml.org,2002:", "!!") if tag else "this tag"
        return at(mark, f"'{name}' is not allowed here; the config holds plain values only",
                  "remove the tag (the word starting with '!')")  # fmt: skip
    if "undefined alias" in problem:
        return at(mark, "a value starting with '*' names an anchor that is not defined",
                  "put the value in quotes if the '*' is part of it")  # fmt: skip
    if "duplicate anchor" in context:
        return at(mark, f"the same anchor ('&') is defined twice (first on line {start.line + 1})"
                  if start else "the same anchor ('&') is defined twice")  # fmt: skip
    if "unhashable" in problem:
        return at(mark, "a list or a mapping cannot be used as a key")
    if "single document" in context or "single document" in problem:
        return at(mark, "the file holds a second YAML document (after '---')",
                  "keep one document: remove the '---' line and merge the settings")  # fmt: skip
    return at(mark, f"YAML cannot read this line ({problem or context or exc})")


def _stray_colon(lines: list[str], line: int, column: int, at: _At, mark: Any) -> YamlProblem:
    """Explain "mapping values are not allowed here": a second colon, or an indentation."""
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    first = here.find(": ")
    if 0 <= first < column - 1 - 1 and here[:first].strip():
        return at(
            mark,
            "this line has a second ': '; a value that contains a colon and a space "
            "must be in quotes",
            f"e.g. {here[:first].strip()}: '{here[first + 2 :].strip()}'",
        )
    previous = next(
        (n for n in range(line - 1, 0, -1) if lines[n - 1].strip() and not _comment(lines, n)),
        0,
    )
    if previous:
        above = lines[previous - 1]
        if _indent(here) > _indent(above) and ":" in above and above.split(":", 1)[1].strip():
            return at(
                mark,
                f"this line is indented more than line {previous}, which already has a value",
                "line it up with the settings around it",
            )
        if ":" not in above and not above.lstrip().startswith("-"):
            return YamlProblem(
                previous,
                _indent(above) + 1,
                "this line has no ':' after its key; every setting is 'key: value'",
                hint=f"line {previous} reads: {above.strip()}",
            )
    return at(mark, "YAML cannot place this ':' here; a value that holds a colon must be in quotes")


def _comment(lines: list[str], n: int) -> bool:
    return lines[n - 1].lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _char_at(lines: list[str], mark: Any) -> str:
    if mark is None or not 0 <= mark.line < len(lines):
        return '"'
    text = lines[mark.line]
    return text[mark.column] if mark.column < len(text) else '"'


def _char_before(lines: list[str], mark: Any) -> str:
    if mark is None or not 0 <= mark.line < len(lines) or mark.column == 0:
        return ""
    text = lines[mark.line]
    return text[mark.column - 1] if mark.column - 1 < len(text) else ""


def read_text_file(path: Path) -> str:
    """The text of a config-like file: UTF-8 (a byte order mark is dropped) or UTF-16 with
    its byte order mark (Notepad's "Unicode"). Raises :class:`UnicodeDecodeError` otherwise,
    and :class:`OSError` as reading does."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("utf-8-sig")
