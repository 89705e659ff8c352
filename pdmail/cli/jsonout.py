"""Turning pdmail's records into JSON for ``--json`` and for scripts."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ..errors import PdmailError

# Properties scripts read as if they were fields: a digest's needs, rate, to-do groups, lessons
# and summary, a trend's sparkline, a proposal's size.
_DERIVED = ("rate", "display_name", "needs", "percent", "spark", "rate_spark", "size", "total",
            "formats", "to_do_groups", "lessons", "summary")  # fmt: skip


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses become objects (with their properties that
    callers read, like ``rate``), dates ISO strings, tuples lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in _DERIVED:
            derived = getattr(type(value), name, None)
            if isinstance(derived, (property, functools.cached_property)):
                out[name] = plain(getattr(value, name))
        return out
    if isinstance(value, PdmailError):
        return {"error": value.message, "hint": value.hint, "exit_code": value.exit_code}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return round(value, 4)
    return value


def dumps(value: Any) -> str:
    return json.dumps(plain(value), indent=2, ensure_ascii=False)
