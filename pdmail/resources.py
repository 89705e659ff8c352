"""Files pdmail ships: the default templates and the example config."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    # In a wheel these sit inside the package; in a source checkout (an editable install)
    # they sit at the top of the repository.
    packaged = _HERE / name
    return packaged if packaged.exists() else _HERE.parent / name


def builtin_templates() -> Path:
    """The folder of pdmail's default templates."""
    return _shipped("templates")


def example_config() -> Path:
    """The commented example config that ``pdmail init`` copies."""
    return _shipped("config.example.yaml")
