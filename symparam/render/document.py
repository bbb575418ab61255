"""Derivation documents from Jinja2 templates: the shipped ones in ``templates/``
(LaTeX, Markdown, plain text) and a user's own (``--template FILE``).

Python prepares the facts (:mod:`.facts`); the templates only lay them out, with
the ``math`` printer (:mod:`.printers`) for formulas. LaTeX templates use
LaTeX-friendly delimiters, ``\\VAR{...}`` and ``\\BLOCK{...}``, so braces and ``%``
stay plain TeX. Prose is escaped with the ``tex`` (or ``md``) filter; math comes
from ``sympy.latex`` and is never escaped.

Every template, shipped or not, runs in the sandbox of :mod:`.sandbox` with undefined
variables as errors: a template cannot reach Python internals, call methods of the
formulas (sympy's would evaluate text as code), hand text to sympy, change the data,
print nothing silently, or run past the limits of time and size. See
``docs/derivations.md`` for the context a template sees.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

import jinja2

from ..errors import UsageError
from ..limits import MAX_DERIVED_LAYERS, MAX_WORKED_LAYERS
from ..resources import resource_dir
from ..stats import ModelStats
from . import fmt
from .blocks import BlockView, by_block
from .facts import layer_facts, model_facts
from .formats import BLOCKS, FLAVORS, FORMATS
from .printers import TexMath, TextMath
from .sandbox import FolderLoader, Sandbox, environment, formula, load, render
from .symbols import symbol_names

__all__ = ["FORMATS", "FLAVORS", "derivation", "render_template", "layer_facts",
           "symbol_names", "context"]

HTML = "derive.html.j2"  # for Jupyter (ModelStats._repr_html_), not a --format
STANDALONE = "derive-standalone.tex.j2"
BY = ("block", "layer")  # a derivation by block (the default) or layer by layer


@jinja2.pass_context
def _latex_filter(ctx, e) -> str:
    return ctx["tex_math"](formula(e))


@jinja2.pass_context
def _text_filter(ctx, e) -> str:
    return ctx["text_math"](formula(e))


FILTERS = {
    "tex": fmt.tex_escape,
    "md": fmt.md_code,
    "md_escape": fmt.md_escape,
    "num": lambda v: fmt.number(int(formula(v))),
    "formula": lambda e: fmt.formula(formula(e)),
    "latex": _latex_filter,
    "text": _text_filter,
}


def _environment(latex: bool, loader: jinja2.BaseLoader) -> Sandbox:
    return environment(latex, loader, FILTERS)


@lru_cache(maxsize=None)
def _shipped_environment(latex: bool) -> Sandbox:
    return _environment(latex, jinja2.FileSystemLoader(str(resource_dir("templates"))))


def context(stats: ModelStats, *, fmt_name: str = "latex", compare: bool = True,
            flavor: str = "github", standalone: bool = False, by: str = "layer",
            paper: bool = False) -> dict:
    """The variables every template sees (documented in docs/derivations.md).

    >>> from symparam import analyze
    >>> c = context(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n"))
    >>> sorted(c)
    ['at', 'blocks', 'flavor', 'math', 'model', 'standalone', 'stats', 'tex_math', 'text_math']
    """
    if len(stats.layers) > MAX_DERIVED_LAYERS:
        raise UsageError(f"model {stats.name} has {len(stats.layers):,} layers: a derivation "
                         f"shows each layer step by step, for at most MAX_DERIVED_LAYERS = "
                         f"{MAX_DERIVED_LAYERS:,} layers (use count or summary for its "
                         f"totals, or a repeat over a symbol, which is not unrolled)")
    tex = TexMath(stats, breakable=fmt_name == "latex", paper=paper,
                  thin=paper and fmt_name == "latex")
    text = TextMath(stats)
    facts = model_facts(stats, compare=compare)
    return {
        "model": facts,
        "blocks": _blocks(stats, facts) if by == "block" else None,
        "stats": stats,
        "math": text if fmt_name == "text" else tex,
        "tex_math": tex,
        "text_math": text,
        "at": lambda e: stats.at(formula(e)),
        "flavor": flavor,
        "standalone": standalone,
    }


def _blocks(stats: ModelStats, facts) -> Optional[BlockView]:
    """The model by block, or None when it has no block and no run of equal layers to
    gather (it is then derived layer by layer, which says the same)."""
    view = by_block(stats, facts)
    return view if view.has_blocks or any(p.what == "run" for p in view.parts) else None


def _worked(ctx: dict) -> int:
    """How many layers the shipped derivation works out step by step."""
    view = ctx["blocks"]
    if view is None:
        return len(ctx["model"].layers)
    return sum(len(p.block.groups[0].layers) if p.block is not None else 1
               for p in view.parts)


def _check_worked(stats: ModelStats, ctx: dict, by: str) -> None:
    worked = _worked(ctx)
    if worked > MAX_WORKED_LAYERS:
        hint = ("--by block, which derives equal layers and blocks once" if by == "layer"
                else "count or summary for its totals, or a block or repeat for its "
                     "equal parts, which are derived once")
        raise UsageError(f"model {stats.name}: its derivation would work out {worked:,} "
                         f"layers step by step, more than MAX_WORKED_LAYERS = "
                         f"{MAX_WORKED_LAYERS:,} (use {hint})")


def derivation(stats: ModelStats, fmt_name: str = "markdown", *, flavor: str = "github",
               standalone: bool = False, compare: bool = True, by: str = "block") -> str:
    """The derivation document of an analyzed model: ``latex`` (an ``align*`` snippet
    to ``\\input``, or with ``standalone=True`` a whole document), ``markdown``
    (``flavor`` github or plain) or ``text``. ``compare`` also analyzes the model
    under the other convention, to note where the two count a layer differently.
    ``by`` is ``block`` (equal block instances derived once, with their number, and the
    model added up by part; :mod:`.blocks`) or ``layer`` (every layer in turn).

    >>> from symparam import analyze
    >>> doc = derivation(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n"))
    >>> "2 \\\\left(n + 1\\\\right)" in doc and "= 10" in doc
    True
    """
    if fmt_name not in FORMATS:
        raise UsageError(f"unknown format '{fmt_name}': use {', '.join(FORMATS)}")
    if flavor not in FLAVORS:
        raise UsageError(f"unknown Markdown flavor '{flavor}': use {' or '.join(FLAVORS)}")
    if by not in BY:
        raise UsageError(f"unknown --by '{by}': use {' or '.join(BY)}")
    latex = fmt_name == "latex"
    ctx = context(stats, fmt_name=fmt_name, compare=compare, flavor=flavor,
                  standalone=standalone, by=by, paper=True)
    _check_worked(stats, ctx, by)
    name = STANDALONE if latex and standalone else (
        BLOCKS[fmt_name] if ctx["blocks"] is not None else FORMATS[fmt_name])
    template = _shipped_environment(latex).get_template(name)
    # The templates favour readable logic over exact spacing: one blank line at most.
    return re.sub(r"\n{3,}", "\n\n", render(template, ctx, f"template {name}"))


def render_template(stats: ModelStats, path: Path, *, compare: bool = True,
                    latex_delimiters: Optional[bool] = None) -> str:
    """Render a user's Jinja template against the derivation context, in the sandbox.
    A ``.tex`` template (``x.tex``, ``x.tex.j2``) uses the LaTeX delimiters
    ``\\VAR{}``/``\\BLOCK{}``; any other the usual ``{{ }}``/``{% %}``.

    >>> import tempfile, pathlib
    >>> from symparam import analyze
    >>> t = pathlib.Path(tempfile.mkdtemp()) / "t.md"
    >>> _ = t.write_text("{{ model.name }}: {{ model.totals[0].value | num }}\\n")
    >>> render_template(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n"), t)
    'm: 10\\n'
    """
    path = Path(path)
    if latex_delimiters is None:
        latex_delimiters = ".tex" in path.suffixes
    env = _environment(latex_delimiters, FolderLoader(str(path.parent or ".")))
    where = f"template {path}"
    template = load(env, path.name, str(path))
    ctx = context(stats, fmt_name="latex" if latex_delimiters else "markdown",
                  compare=compare, by="block")
    return render(template, ctx, where)


def html(stats: ModelStats) -> str:
    """The derivation as an HTML fragment for Jupyter: a table of the layers and the
    totals, math in ``\\(...\\)`` for the notebook's MathJax or KaTeX."""
    template = _shipped_environment(False).get_template(HTML)
    return render(template, context(stats, fmt_name="markdown"), f"template {HTML}")


def totals_latex(stats: ModelStats) -> str:
    """The totals as display math (Jupyter's ``_repr_latex_``): formula = numbers =
    result, in one ``aligned`` block.

    >>> from symparam import analyze
    >>> print(totals_latex(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n")))
    $$\\begin{aligned}
    \\text{Total params} &= 2 \\left(n + 1\\right) \\\\
      &= 2 \\cdot \\left(4 + 1\\right) \\\\
      &= 10
    \\end{aligned}$$
    """
    math, facts = TexMath(stats), model_facts(stats, compare=False)
    rows = [math.align(math.text(t.label), math.total_chain(t)) for t in facts.totals[:1]]
    return "$$\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}$$"
