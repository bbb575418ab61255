"""The one way a Python value becomes a sympy object in symparam.

``sympy.sympify`` turns text into code (it evaluates strings, and the strings inside
tuples, lists and dicts, as Python), so symparam never calls it. Everything that needs
a sympy object from a value goes through :func:`as_expr`, which accepts only what
symparam itself produces and refuses everything else with a clear error. Text is read
by symparam's own grammar instead (:func:`symparam.render.read_formula`).
"""
from __future__ import annotations

import numbers
from collections import Counter
from fractions import Fraction

import sympy

from .errors import SymparamError


class NotAFormula(SymparamError, TypeError):
    """A value where a formula was expected (text, a list, an arbitrary object)."""


def as_expr(value) -> sympy.Basic:
    """``value`` as a sympy object: sympy objects as they are, whole numbers (Python's
    or NumPy's) and fractions as exact sympy numbers, True and False as sympy's.

    >>> as_expr(3), as_expr(Fraction(1, 2)), as_expr(True)
    (3, 1/2, True)
    >>> as_expr("h*(n + 1)")
    Traceback (most recent call last):
    ...
    symparam.exprs.NotAFormula: a formula is expected here, not the text 'h*(n + 1)' (symparam never evaluates text as code; read a formula with symparam.render.read_formula)
    """
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool):
        return sympy.true if value else sympy.false
    if isinstance(value, numbers.Integral):
        return sympy.Integer(int(value))
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    raise NotAFormula(f"a formula is expected here, not {_what(value)} (symparam never "
                      f"evaluates text as code; read a formula with symparam.render.read_formula)")


def _what(value) -> str:
    if isinstance(value, (str, bytes)):
        text = value if isinstance(value, str) else value.decode("utf-8", "replace")
        return f"the text {text[:40] + ('...' if len(text) > 40 else '')!r}"
    return f"a {type(value).__name__}"


def add_up(terms) -> sympy.Expr:
    """The sum of many terms, equal terms counted first: 10,000 equal layer counts are
    one product, not an Add of 10,000 arguments (same result, sympy's Add is canonical).

    >>> from sympy import Symbol
    >>> d = Symbol("d")
    >>> add_up([d, d, 2 * d, 1])
    4*d + 1
    """
    return sympy.Add(*[t if k == 1 else k * t for t, k in Counter(terms).items()])
