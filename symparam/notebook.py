"""symparam in Jupyter: the ``%%symparam`` cell magic (an IPython extension).

Load it with ``%load_ext symparam``, then write a model in a cell::

    %%symparam --set h=256
    model mlp(n = 4096, h = 512, k = 80):
        input [n]
        dense h, activation = relu
        batchnorm
        dense k

The cell is analyzed; the summary table and the derivation (Markdown with math that
the notebook renders) are displayed, and the analysis is stored in the notebook's
namespace as ``_symparam`` (and under ``--as NAME``) for the Python API: ``stats.total``,
``sweep(stats, ...).to_pandas()``, ``.plot()``. Options: those of the command line
(``--set``, ``--convention``, ``--model``, ``--symbolic``) plus ``--no-derive`` (the
summary only) and ``--as NAME``. A bad model shows symparam's one-line message with its
line, never a traceback. IPython is needed only here: the rest of symparam never
imports it.
"""
from __future__ import annotations

import argparse
import shlex
from typing import Any, Optional

from .analyze import analyze
from .errors import SymparamError, UsageError
from .numbers import parse_sets
from .parser import parse

VARIABLE = "_symparam"  # where the last analysis is stored in the notebook


def _options(line: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="%%symparam", add_help=False, exit_on_error=False)
    parser.add_argument("--set", "-s", dest="sets", action="append", default=[])
    parser.add_argument("--convention")
    parser.add_argument("--model", "-m")
    parser.add_argument("--symbolic", action="store_true")
    parser.add_argument("--no-derive", dest="derive", action="store_false")
    parser.add_argument("--as", dest="name")
    try:
        words = shlex.split(line)
        options, rest = parser.parse_known_args(words)
    except (ValueError, argparse.ArgumentError) as err:
        raise UsageError(f"%%symparam {line.strip()}: {err}") from None
    if rest:
        raise UsageError(f"%%symparam: unknown option {rest[0]!r}; known: --set, "
                         f"--convention, --model, --symbolic, --no-derive, --as")
    if options.name is not None and not options.name.isidentifier():
        raise UsageError(f"%%symparam --as {options.name}: not a Python name")
    return options


def run_cell(line: str, cell: str) -> tuple[Any, list, argparse.Namespace]:
    """The analysis of a ``%%symparam`` cell, what to display (objects for IPython's
    display) and the cell's options. Raises :class:`SymparamError` for a bad model or
    option."""
    from .render import derivation, summary_text

    options = _options(line)
    stats = analyze(parse(cell, filename="<cell>"), model=options.model,
                    convention=options.convention, values=parse_sets(options.sets),
                    symbolic=options.symbolic)
    shown: list = [_Shown(summary_text(stats), markdown=False)]
    if options.derive:
        shown.append(_Shown(derivation(stats, "markdown", flavor="plain"), markdown=True))
    return stats, shown, options


class _Shown:
    """Text for the notebook: preformatted (the summary table, shown as it is in every
    front end) or Markdown with ``$...$`` math, which Jupyter renders (MathJax or
    KaTeX)."""

    def __init__(self, text: str, markdown: bool) -> None:
        self.text, self.markdown = text, markdown

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> Optional[str]:
        import html

        # Monospace and unwrapped whatever the front end's stylesheet says of <pre>
        # (nbconvert's, for one, wraps it in the body font): the table stays a table.
        style = "font-family: monospace; white-space: pre; overflow-x: auto"
        return None if self.markdown else (f'<pre style="{style}">'
                                           f"{html.escape(self.text)}</pre>")

    def _repr_markdown_(self) -> Optional[str]:
        return self.text if self.markdown else None


def symparam_magic(line: str, cell: str, shell=None) -> None:
    """The ``%%symparam`` magic: analyze, display, store (see the module docstring)."""
    import sys

    from IPython.display import display

    try:
        stats, shown, options = run_cell(line, cell)
    except SymparamError as err:
        print(f"error: {err}", file=sys.stderr)  # one message, as the command line says it
        return None
    except RecursionError:
        print("error: the model is nested too deeply to analyze", file=sys.stderr)
        return None
    if shell is not None:
        shell.user_ns[VARIABLE] = stats
        if options.name:
            shell.user_ns[options.name] = stats
    for item in shown:
        display(item)
    return None


def load_ipython_extension(ipython) -> None:
    """``%load_ext symparam`` (or ``symparam.notebook``): register ``%%symparam``."""
    def magic(line, cell):
        return symparam_magic(line, cell, ipython)
    magic.__doc__ = __doc__
    ipython.register_magic_function(magic, magic_kind="cell", magic_name="symparam")
