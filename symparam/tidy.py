"""Exact rewrites that keep shape formulas readable.

A chain of strided layers nests floors: ``floor(floor(H/2)/2)``. For any real x, any
integer c and any positive integer b,

    floor((floor(x) + c)/b) = floor((x + c)/b)    and the same for ceiling,

so the chain collapses to ``floor(H/4)``. Then the whole-number part of a floor's
numerator moves out of it: for a whole-number n, a positive whole number d and a whole
number r,

    floor((n + r)/d) = floor((n + r mod d)/d) + floor(r/d),
    floor((n + d - 1)/d) = ceiling(n/d),

so a stride-2 convolution's ``floor(H/2 - 1/2) + 1`` reads ``ceiling(H/2)``. Only these
identities are applied: the result is equal for every value of the symbols, never an
approximation.
"""
from __future__ import annotations

import sympy
from .exprs import as_expr


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


def _constant_out(e):
    """floor((n + r)/d) with the remainder of r kept inside, ceiling when it is d - 1."""
    num, den = sympy.together(e.args[0]).as_numer_denom()
    if not (den.is_Integer and den > 1):
        return None
    r, n = num.as_coeff_Add()
    if not (r.is_Integer and n.is_integer and not n.is_number):
        return None
    q, rest = divmod(int(r), int(den))
    if rest == int(den) - 1:
        return sympy.ceiling(n / den) + q
    if q == 0:
        return None
    return sympy.floor((n + rest) / den) + q


def tidy(expr):
    """Collapse nested floors (and ceilings) of a size expression.

    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> tidy(sympy.floor(sympy.floor(sympy.floor(H / 2) / 2) / 2))
    floor(H/8)
    >>> tidy(sympy.ceiling(sympy.ceiling(H / 2) / 2))
    ceiling(H/4)
    >>> tidy(sympy.floor((H - 1) / 2) + 1)   # a 3x3 convolution, stride 2, padding 1
    ceiling(H/2)
    >>> tidy(sympy.floor((sympy.ceiling(H / 2) - 1) / 2) + 1)   # then a 3x3 pool, likewise
    ceiling(H/4)
    """
    expr = as_expr(expr)
    if not expr.has(sympy.floor, sympy.ceiling):
        return expr
    for _ in range(8):  # each rule can make work for the other: run both until settled
        before = expr
        expr = expr.replace(_nested, lambda e: _collapse(e) or e)
        expr = expr.replace(lambda e: isinstance(e, sympy.floor),
                            lambda e: _constant_out(e) or e)
        if expr == before:
            break
    return expr
