"""Derivation documents from Jinja2 templates: the shipped ones in ``templates/``
(LaTeX, Markdown, plain text) and a user's own (``--template FILE``).

Python prepares the facts (:mod:`.facts`); the templates only lay them out, with
the ``math`` printer (:mod:`.printers`) for formulas. LaTeX templates use
LaTeX-friendly delimiters, ``\\VAR{...}`` and ``\\BLOCK{...}``, so braces and ``%``
stay plain TeX. Prose is escaped with the ``tex`` (or ``md``) filter; math comes
from ``sympy.latex`` and is never escaped.

Every template, shipped or not, runs in Jinja's immutable sandbox with undefined
variables as errors: a template cannot reach Python internals, call methods of the
formulas (sympy's would evaluate text as code), change the data, or print nothing
silently. See ``docs/derivations.md`` for the context a template sees.
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Optional

import jinja2
import sympy
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import SymparamError, UsageError
from ..limits import MAX_DERIVED_LAYERS
from ..resources import resource_dir
from ..stats import LayerStats, ModelStats
from . import fmt
from .facts import layer_facts, model_facts
from .formats import FLAVORS, FORMATS
from .printers import TexMath, TextMath
from .symbols import symbol_names

__all__ = ["FORMATS", "FLAVORS", "derivation", "render_template", "layer_facts",
           "symbol_names", "context"]

HTML = "derive.html.j2"  # for Jupyter (ModelStats._repr_html_), not a --format
STANDALONE = "derive-standalone.tex.j2"
_LATEX_DELIMITERS = dict(block_start_string=r"\BLOCK{", block_end_string="}",
                         variable_start_string=r"\VAR{", variable_end_string="}",
                         comment_start_string=r"\#{", comment_end_string="}",
                         line_statement_prefix="%%", line_comment_prefix="%#")
# The only attributes a template may read from a sympy object (its methods would
# turn text into code: sympy.sympify evaluates strings).
_EXPR_ATTRS = frozenset({"is_number", "is_Integer", "is_Add", "is_Mul", "is_Symbol", "name"})


def _formula(x):
    """An expression from a template: numbers and sympy objects, never text (which
    sympy would evaluate as Python)."""
    if isinstance(x, (str, bytes)):
        raise jinja2.exceptions.SecurityError(
            f"a formula is expected here, not the text {str(x)[:40]!r} (symparam never "
            f"evaluates text from a template)")
    return sympy.sympify(x, strict=True)


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, closed further: sympy objects expose no methods and
    analysis objects no callables, classes cannot be called."""

    def is_safe_attribute(self, obj, attr, value):
        if isinstance(obj, sympy.Basic) or (isinstance(obj, type) and
                                            issubclass(obj, sympy.Basic)):
            return attr in _EXPR_ATTRS
        if attr in ("document", "costing"):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's names)
        if not __self.is_safe_callable(__obj):
            what = getattr(__obj, "__qualname__", type(__obj).__name__)
            raise jinja2.exceptions.SecurityError(f"calling {what} is not allowed")
        return super().call(__context, __obj, *args, **kwargs)

    def is_safe_callable(self, obj):
        if isinstance(obj, type):
            return False
        owner = getattr(obj, "__self__", None)
        if owner is not None and not isinstance(owner, TexMath) and (
                isinstance(owner, (sympy.Basic, ModelStats, LayerStats))
                or type(owner).__module__.split(".")[0] in ("symparam", "sympy")):
            return False
        if type(obj).__module__.split(".")[0] == "sympy":
            return False
        return super().is_safe_callable(obj)


@jinja2.pass_context
def _latex_filter(ctx, e) -> str:
    return ctx["tex_math"](_formula(e))


@jinja2.pass_context
def _text_filter(ctx, e) -> str:
    return ctx["text_math"](_formula(e))


FILTERS = {
    "tex": fmt.tex_escape,
    "md": fmt.md_code,
    "md_escape": fmt.md_escape,
    "num": lambda v: fmt.number(int(_formula(v))),
    "formula": lambda e: fmt.formula(_formula(e)),
    "latex": _latex_filter,
    "text": _text_filter,
}


def _environment(latex: bool, loader: jinja2.BaseLoader) -> jinja2.Environment:
    options = dict(loader=loader, undefined=jinja2.StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    if latex:
        options.update(_LATEX_DELIMITERS)
    env = _Sandbox(**options)
    env.filters.update(FILTERS)
    return env


@lru_cache(maxsize=None)
def _shipped_environment(latex: bool) -> jinja2.Environment:
    return _environment(latex, jinja2.FileSystemLoader(str(resource_dir("templates"))))


def context(stats: ModelStats, *, fmt_name: str = "latex", compare: bool = True,
            flavor: str = "github", standalone: bool = False) -> dict:
    """The variables every template sees (documented in docs/derivations.md).

    >>> from symparam import analyze
    >>> c = context(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n"))
    >>> sorted(c)
    ['at', 'flavor', 'math', 'model', 'standalone', 'stats', 'tex_math', 'text_math']
    """
    if len(stats.layers) > MAX_DERIVED_LAYERS:
        raise UsageError(f"model {stats.name} has {len(stats.layers):,} layers: a derivation "
                         f"shows each layer step by step, for at most MAX_DERIVED_LAYERS = "
                         f"{MAX_DERIVED_LAYERS:,} layers (use count or summary for its "
                         f"totals, or a repeat over a symbol, which is not unrolled)")
    tex, text = TexMath(stats, breakable=fmt_name == "latex"), TextMath(stats)
    return {
        "model": model_facts(stats, compare=compare),
        "stats": stats,
        "math": text if fmt_name == "text" else tex,
        "tex_math": tex,
        "text_math": text,
        "at": lambda e: stats.at(_formula(e)),
        "flavor": flavor,
        "standalone": standalone,
    }


def _render(template: jinja2.Template, ctx: dict, where: str) -> str:
    try:
        return template.render(**ctx)
    except jinja2.exceptions.SecurityError as err:
        raise SymparamError(f"{where}{_line(template)}: refused: {err} (templates run in "
                            f"a sandbox without access to Python internals)") from None
    except sympy.SympifyError:
        raise SymparamError(f"{where}{_line(template)}: refused: a formula is expected, not "
                            f"text (symparam never evaluates text from a template)") from None
    except jinja2.exceptions.UndefinedError as err:
        raise SymparamError(f"{where}{_line(template)}: {err.message}") from None
    except jinja2.exceptions.TemplateError as err:
        raise SymparamError(f"{where}{_line(template)}: {err}") from None
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as err:
        raise SymparamError(f"{where}{_line(template)}: {type(err).__name__}: {err}") from None


def _line(template: jinja2.Template) -> str:
    """``, line N``: where in the template the error happened (Jinja rewrites the
    traceback so that its frames name the template's lines)."""
    tb = sys.exc_info()[2]
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == (template.filename or "<template>"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f", line {line}" if line else ""


def derivation(stats: ModelStats, fmt_name: str = "markdown", *, flavor: str = "github",
               standalone: bool = False, compare: bool = True) -> str:
    """The derivation document of an analyzed model: ``latex`` (an ``align*`` snippet
    to ``\\input``, or with ``standalone=True`` a whole document), ``markdown``
    (``flavor`` github or plain) or ``text``. ``compare`` also analyzes the model
    under the other convention, to note where the two count a layer differently.

    >>> from symparam import analyze
    >>> doc = derivation(analyze("model m(n = 4):\\n    input [n]\\n    dense 2\\n"))
    >>> "2 \\\\left(n + 1\\\\right)" in doc and "= 10" in doc
    True
    """
    if fmt_name not in FORMATS:
        raise UsageError(f"unknown format '{fmt_name}': use {', '.join(FORMATS)}")
    if flavor not in FLAVORS:
        raise UsageError(f"unknown Markdown flavor '{flavor}': use {' or '.join(FLAVORS)}")
    latex = fmt_name == "latex"
    name = STANDALONE if latex and standalone else FORMATS[fmt_name]
    template = _shipped_environment(latex).get_template(name)
    ctx = context(stats, fmt_name=fmt_name, compare=compare, flavor=flavor,
                  standalone=standalone)
    # The templates favour readable logic over exact spacing: one blank line at most.
    return re.sub(r"\n{3,}", "\n\n", _render(template, ctx, f"template {name}"))


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
    env = _environment(latex_delimiters, jinja2.FileSystemLoader(str(path.parent or ".")))
    where = f"template {path}"
    try:
        template = env.get_template(path.name)
    except jinja2.exceptions.TemplateNotFound:
        raise SymparamError(f"no such template: {path}") from None
    except jinja2.exceptions.TemplateSyntaxError as err:
        raise SymparamError(f"{where}, line {err.lineno}: {err.message}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SymparamError(f"cannot read template {path}: {err}") from None
    ctx = context(stats, fmt_name="latex" if latex_delimiters else "markdown",
                  compare=compare)
    return _render(template, ctx, where)


def html(stats: ModelStats) -> str:
    """The derivation as an HTML fragment for Jupyter: a table of the layers and the
    totals, math in ``\\(...\\)`` for the notebook's MathJax or KaTeX."""
    template = _shipped_environment(False).get_template(HTML)
    return _render(template, context(stats, fmt_name="markdown"), f"template {HTML}")


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
