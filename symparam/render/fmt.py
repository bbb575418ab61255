"""Small formatting helpers shared by every renderer: numbers, formulas, shapes,
and escaping of prose for LaTeX and Markdown.

Formulas in text are ``str()`` of the sympy expression, so that
:func:`symparam.render.read_formula` reads them back; math in LaTeX is ``sympy.latex`` and
is never escaped.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Optional

import sympy
from .. import conventions
from ..exprs import as_expr


def number(value: int) -> str:
    """An integer with thousands separators, as Keras prints counts.

    >>> number(2140752)
    '2,140,752'
    """
    return f"{int(value):,}"


def formula(expr) -> str:
    """A formula as text that :func:`symparam.render.read_formula` reads back.

    >>> n, h = sympy.symbols("n h")
    >>> formula(h * (n + 1))
    'h*(n + 1)'
    """
    return _formula(as_expr(expr))


@lru_cache(maxsize=1 << 16)  # a model repeats its shapes and counts: each printed once
def _formula(expr: sympy.Basic) -> str:
    if expr.is_Add and len(expr.args) > LONG_SUM:
        # Sorting the terms of a long sum asks sympy's assumptions about each: seconds
        # for a model of 10,000 layers. Its terms are then left in sympy's own order.
        return sympy.sstr(expr, order="none")
    return str(expr)


LONG_SUM = 100  # terms of a formula: above this, printed unsorted


def as_int(expr) -> Optional[int]:
    """The integer an expression is, or None while it holds a symbol."""
    expr = as_expr(expr)
    if expr.is_Integer or (expr.is_number and expr.is_integer):
        return int(expr)
    return None


def quantity(expr) -> str:
    """A number with separators when ``expr`` is one, else the formula.

    >>> quantity(sympy.Integer(37633)), quantity(sympy.Symbol("n") + 1)
    ('37,633', 'n + 1')
    """
    value = as_int(expr)
    return number(value) if value is not None else formula(expr)


def shape(dims: Iterable) -> str:
    """An output shape the way Keras prints it, the batch axis as None.

    >>> shape((64, 64, 32))
    '(None, 64, 64, 32)'
    """
    return "(" + ", ".join(["None"] + [formula(d) for d in dims]) + ")"


def times(per_copy, multiplier) -> str:
    """``per_copy`` standing ``multiplier`` times: ``C*(9*C + 1) × L``.

    >>> L, C = sympy.symbols("L C")
    >>> times(4 * C + 1, L)
    '(4*C + 1) × L'
    """
    text = formula(per_copy)
    if isinstance(as_expr(per_copy), sympy.Add):
        text = f"({text})"
    return f"{text} × {formula(multiplier)}"


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_TEX_RE = re.compile("|".join(re.escape(c) for c in _TEX_SPECIAL))


def tex_escape(text) -> str:
    """Prose for LaTeX: the special characters escaped (never use it on math).

    >>> print(tex_escape("conv_1 & 50%"))
    conv\\_1 \\& 50\\%
    """
    return _TEX_RE.sub(lambda m: _TEX_SPECIAL[m.group()], str(text))


def tex_number(value: int) -> str:
    """A number for LaTeX math, with thin, non-breaking separators.

    >>> print(tex_number(2097664))
    2{,}097{,}664
    """
    return number(value).replace(",", "{,}")


def tex_quantity(expr) -> str:
    """Math for a count: the number when it is one, else ``sympy.latex``."""
    value = as_int(expr)
    return tex_number(value) if value is not None else sympy.latex(as_expr(expr))


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|$~])")


def md_escape(text) -> str:
    """Prose for Markdown: characters Markdown (or its math) would read escaped.

    >>> print(md_escape("C*m filters, n_in"))
    C\\*m filters, n\\_in
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def md_code(text) -> str:
    """Inline code for Markdown, safe for names with underscores or backticks.

    >>> md_code("conv_1")
    '`conv_1`'
    """
    text = str(text)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def unreached_note(stats, limit: int = 5) -> str:
    """What Keras and PyTorch do with the layers that do not reach the model's output
    (``stats.unreached``), the counts' convention first; '' when there are none.

    >>> from symparam import analyze
    >>> print(unreached_note(analyze("model m():\\n    input [8] as x\\n    dense 8 as u\\n"
    ...                              "    from x\\n    dense 2\\n")))
    Note: dense 'u' (line 3) does not reach the output: Keras leaves it out of the model (and out of these totals); PyTorch counts it as a registered module.
    """
    names = stats.unreached
    if not names:
        return ""
    lines = {layer.name: layer for layer in stats.layers}
    listed = [f"{lines[n].kind} '{n}' (line {lines[n].line}"
              + (f", in {'/'.join(lines[n].path)})" if lines[n].path else ")")
              for n in names[:limit]]
    if len(names) > limit:
        listed.append(f"{len(names) - limit} more")
    one = len(names) == 1
    it = "it" if one else "them"
    keras = f"Keras leaves {it} out of the model"
    torch = f"PyTorch counts {it} as {'a registered module' if one else 'registered modules'}"
    counted = conventions.get(stats.convention).counts_unreached
    said = (f"{torch} (in these totals); {keras}" if counted
            else f"{keras} (and out of these totals); {torch}")
    return (f"Note: {', '.join(listed)} {'does' if one else 'do'} not reach the output: "
            f"{said}.")
