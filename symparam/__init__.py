"""symparam: closed-form parameter counts and shapes of neural networks, in your symbols.

>>> import symparam
>>> stats = symparam.analyze('''
... model mlp(n = 4096, h = 512, k = 80):
...     input [n]
...     dense h, activation = relu
...     batchnorm
...     dropout 0.5
...     dense k, activation = sigmoid
... ''')
>>> stats.total
h*(n + 1) + 4*h + k*(h + 1)
>>> stats.value(stats.total), stats.value(stats.non_trainable)
(2140752, 1024)
"""
from __future__ import annotations

from .analyze import analyze
from .errors import SourceError, SymparamError, UsageError
from .parser import parse, parse_file
from .stats import NOTEBOOK as _NOTEBOOK, LayerStats, ModelStats


def _markdown(stats: ModelStats) -> str:
    from .render.document import derivation  # Jinja2 only when a notebook shows stats
    return derivation(stats, "markdown", flavor="plain")


def _latex(stats: ModelStats) -> str:
    from .render.document import totals_latex
    return totals_latex(stats)


def _html(stats: ModelStats) -> str:
    from .render.document import html
    return html(stats)


# Stats never import the renderer (docs/architecture.md): the package wires their views.
_NOTEBOOK.update(markdown=_markdown, latex=_latex, html=_html)

__version__ = "0.1.0"

__all__ = ["analyze", "parse", "parse_file", "ModelStats", "LayerStats", "SymparamError",
           "SourceError", "UsageError", "__version__"]


def load_ipython_extension(ipython) -> None:
    """``%load_ext symparam`` in Jupyter: the ``%%symparam`` cell magic
    (see :mod:`symparam.notebook`)."""
    from .notebook import load_ipython_extension as load

    load(ipython)
