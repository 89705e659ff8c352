"""Files pdmail ships: the default templates and the example config."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _shipped(packaged: str, checkout: str) -> Path:
    # In a wheel these sit inside the package; in a source checkout (an editable install)
    # they sit at the top of the repository.
    inside = _HERE / packaged
    return inside if inside.exists() else _HERE.parent / checkout


def builtin_templates() -> Path:
    """The folder of pdmail's default templates."""
    return _shipped("default_templates", "templates")


def example_config() -> Path:
    """The commented example config that ``pdmail init`` copies."""
    return _shipped("config.example.yaml", "config.example.yaml")
