"""Where the grammar, templates and examples live.

In the repository they sit at the top level (``grammar/``, ``templates/``,
``docs/examples/``); an installed wheel carries them inside the package. Look in
the package first, then beside it, so both ``pip install .`` and ``pip install -e .``
work.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_IN_REPO = {"grammar": "grammar", "templates": "templates", "examples": "docs/examples",
            "zoo": "zoo"}


@lru_cache(maxsize=None)
def resource_dir(name: str) -> Path:
    """The folder holding resource ``name`` ('grammar', 'templates', 'examples', 'zoo')."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / _IN_REPO[name]):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"symparam is installed without its {name!r} folder")
