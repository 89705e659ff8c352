"""Typed reads from the config's YAML tree, each error naming the file and the dotted key."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ConfigError
from ..mail.compose import is_plain_address

if TYPE_CHECKING:
    from ..backends.base import Backend


B = TypeVar("B", bound="Backend")


class KeyProblem(ConfigError):
    """A config error about one key, which :func:`~pdmail.config.load.load_config` can place on
    its line."""

    def __init__(self, message: str, *, key: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.key = key


class Reader:
    """Typed reads from the YAML tree, each error naming the file and the dotted key; what a
    backend's :meth:`~pdmail.backends.base.Backend.parse` is given."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.base = file.parent

    def error(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        return KeyProblem(f"{self.file.name}: {key}: {message}", key=key, hint=hint)

    @staticmethod
    def _key(parent: str, key: str) -> str:
        return f"{parent}.{key}" if parent else key

    def known(self, m: Mapping[str, Any], parent: str, allowed: set[str]) -> None:
        for key in m:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"did you mean '{self._key(parent, close[0])}'?" if close else None
                raise self.error(self._key(parent, str(key)), "is not a known key", hint)

    def mapping(self, value: Any, key: str, *, required: bool = False) -> Mapping[str, Any]:
        if value is None:
            if required:
                raise self.error(key or "(top level)", "is required")
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key or "(top level)", f"expected a mapping, got {show_value(value)}")
        return value

    def text(self, m: Mapping[str, Any], name: str, parent: str, *, required: bool = False) -> str:
        value = m.get(name)
        key = self._key(parent, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.error(key, "is required")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise self.error(key, f"expected text, got {show_value(value)}")
        return str(value).strip()

    def email(self, m: Mapping[str, Any], name: str, parent: str) -> str:
        value = self.text(m, name, parent, required=True)
        if not is_plain_address(value):
            raise self.error(self._key(parent, name), f"{value!r} is not an email address")
        return value

    def choice(
        self, m: Mapping[str, Any], name: str, parent: str, options: Sequence[str], default: str
    ) -> str:
        value = self.text(m, name, parent) or default
        if value not in options:
            close = difflib.get_close_matches(value, list(options), n=1)
            raise self.error(
                self._key(parent, name),
                f"{value!r} is not one of: {', '.join(options)}",
                f"did you mean {close[0]!r}?" if close else None,
            )
        return value

    def backend(
        self, m: Mapping[str, Any], parent: str, known: Sequence[type[B]], default: str
    ) -> type[B]:
        """The backend ``<parent>.kind`` picks from ``known`` (the registry's), after checking
        that every key of ``m`` is ``kind``, one of the section's own keys, or one that a
        backend of ``known`` owns."""
        owned = {key for b in known for key in b.keys}
        self.known(m, parent, _SECTION_KEYS[parent] | owned)
        kind = self.choice(m, "kind", parent, [b.kind for b in known], default)
        return next(b for b in known if b.kind == kind)

    def options(
        self, m: Mapping[str, Any], known: Sequence[type[Backend]], picked: type[Backend]
    ) -> dict[str, Any]:
        """Every backend's own keys of ``m``, each checked by its backend (which may require
        some only when it is the ``picked`` one)."""
        found: dict[str, Any] = {}
        for b in known:
            found.update(b.parse(self, m, chosen=b is picked))
        return found

    def integer(
        self, m: Mapping[str, Any], name: str, parent: str, default: int, low: int, high: int
    ) -> int:
        value = m.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(
                self._key(parent, name),
                f"expected a whole number from {low} to {high}, got {show_value(value)}",
            )
        return value

    def fraction(self, m: Mapping[str, Any], name: str, parent: str, default: float) -> float:
        """A number from 0 to 1 (a share, a similarity)."""
        value = m.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self.error(
                self._key(parent, name), f"expected a number from 0 to 1, got {show_value(value)}"
            )
        return float(value)

    def integer_list(
        self, m: Mapping[str, Any], name: str, parent: str, default: list[int], low: int, high: int
    ) -> list[int]:
        value = m.get(name, default)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(self._key(parent, name), f"expected a list, got {show_value(value)}")
        return [self.integer({name: v}, name, parent, 0, low, high) for v in value]

    def boolean(self, m: Mapping[str, Any], name: str, parent: str, default: bool) -> bool:
        value = m.get(name, default)
        if not isinstance(value, bool):
            raise self.error(
                self._key(parent, name), f"expected true or false, got {show_value(value)}"
            )
        return value

    def path(
        self, m: Mapping[str, Any], name: str, parent: str, *, required: bool = False
    ) -> Path | None:
        value = self.text(m, name, parent, required=required)
        if not value:
            return None
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else self.base / p

    def folder(self, m: Mapping[str, Any], name: str, parent: str) -> Path | None:
        """A folder pdmail writes into (made when first needed); a file in its place is an
        error now rather than a failure for every message later."""
        folder = self.path(m, name, parent)
        if folder is not None and folder.exists() and not folder.is_dir():
            raise self.error(
                self._key(parent, name),
                f"{folder} is a file, not a folder",
                "name a folder (pdmail makes it if it does not exist)",
            )
        return folder


# The keys of a backend section that belong to no backend.
_SECTION_KEYS = {
    "sources": {"kind"},
    "mail": {"kind", "sender_name", "reply_to", "per_minute", "daily_cap", "lock_wait"},
}


def show_value(value: Any) -> str:
    if isinstance(value, (Mapping, list)):
        return "a mapping" if isinstance(value, Mapping) else "a list"
    if isinstance(value, date):
        # YAML reads 2026-12-01 as a date; the librarian wrote text, so show it as written.
        return f"the date {value.isoformat()}"
    return repr(value)
