"""Every string symparam shows comes from here (and from ``templates/``): analysis
results stay data (:mod:`symparam.stats`), and these functions turn them into text,
JSON-ready dicts, Markdown and LaTeX.

>>> from symparam import analyze
>>> from symparam.render import model_dict
>>> model_dict(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n"))["total"]
{'formula': '2*(n + 1)', 'value': 10}
"""
from __future__ import annotations

from .data import SCHEMA_VERSION, model_dict, read_formula
from .text import count_text, summary_text

__all__ = ["SCHEMA_VERSION", "model_dict", "read_formula", "count_text", "summary_text",
           "derivation"]


def derivation(stats, fmt: str = "markdown", **options) -> str:
    """A derivation document ('markdown', 'latex' or 'text'; options ``flavor``,
    ``standalone``, ``compare``); see :mod:`.document`."""
    from .document import derivation as _derivation
    return _derivation(stats, fmt, **options)
