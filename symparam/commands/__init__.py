"""Command modules. Each one defines click commands and attaches them to
``symparam.cli.main``; add a module's name to ``_MODULES`` to load it."""
from __future__ import annotations

import importlib

_MODULES = ("basic", "analysis", "costs", "explain", "export", "importing")


def load_commands() -> None:
    for name in _MODULES:
        importlib.import_module(f"{__name__}.{name}")
