"""Exact rewrites that keep shape formulas readable.

A chain of strided layers nests floors: ``floor(floor(H/2)/2)``. For any real x, any
integer c and any positive integer b,

    floor((floor(x) + c)/b) = floor((x + c)/b)    and the same for ceiling,

so the chain collapses to ``floor(H/4)``. Only this identity is applied: the result is
equal for every value of the symbols, never an approximation.
"""
from __future__ import annotations

import sympy


def _collapse(e):
    fn = type(e)
    num, den = sympy.together(e.args[0]).as_numer_denom()
    if not (den.is_Integer and den > 0):
        return None
    inner, rest = None, []
    for term in sympy.Add.make_args(num):
        if isinstance(term, fn) and inner is None:
            inner = term
        else:
            rest.append(term)
    if inner is None or not all(t.is_integer for t in rest):
        return None
    return fn((inner.args[0] + sympy.Add(*rest)) / den)


def _nested(e) -> bool:
    return isinstance(e, (sympy.floor, sympy.ceiling)) and e.args[0].has(type(e))


def tidy(expr):
    """Collapse nested floors (and ceilings) of a size expression.

    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> tidy(sympy.floor(sympy.floor(sympy.floor(H / 2) / 2) / 2))
    floor(H/8)
    >>> tidy(sympy.ceiling(sympy.ceiling(H / 2) / 2))
    ceiling(H/4)
    """
    expr = sympy.sympify(expr)
    if not expr.has(sympy.floor, sympy.ceiling):
        return expr
    return expr.replace(_nested, lambda e: _collapse(e) or e)
