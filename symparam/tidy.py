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

:func:`rounded` builds ``floor(x)`` or ``ceiling(x)`` as sympy does, without sympy's
search for a proof that ``x`` lies in (0, 2] when ``x`` grows without bound (some
15-50 ms per new size on a loaded machine: a chain of 300 strided layers took minutes).

May import sympy and :mod:`symparam.exprs` only.
"""
from __future__ import annotations

import sympy
from .exprs import as_expr


def _grows(e, x) -> bool:
    """Whether ``e`` is unbounded above as the positive symbol ``x`` grows, the other
    symbols fixed: ``x``, a positive multiple of it, its floor or ceiling, or a sum
    with exactly one term holding ``x``, that grows."""
    if e == x:
        return True
    if isinstance(e, (sympy.floor, sympy.ceiling)):
        return _grows(e.args[0], x)
    if e.is_Mul:
        c, rest = e.as_coeff_Mul()
        return c.is_Rational and c > 0 and rest is not e and _grows(rest, x)
    if e.is_Add:
        holding = [t for t in e.args if t.has(x)]
        return len(holding) == 1 and _grows(holding[0], x)
    return False


def _fraction(term) -> bool:
    """``term`` is a fraction (not a whole number), alone or times symbols, floors and
    ceilings whose parity sympy does not know: sympy cannot prove it a whole number."""
    if term.is_Rational:
        return not term.is_Integer
    return term.is_Mul and term.args[0].is_Rational and not term.args[0].is_Integer and \
        all(isinstance(a, (sympy.floor, sympy.ceiling)) or
            (isinstance(a, sympy.Symbol) and a.is_even is None) for a in term.args[1:])


def rounded(fn, arg):
    """``fn(arg)``, ``fn`` floor or ceiling: the same expression sympy builds, with
    ``fn((fn(x) + c)/d)`` collapsed to ``fn((x + c)/d)`` as :func:`tidy` does. When
    ``arg`` is a fraction with a whole-number denominator whose numerator grows with a
    positive symbol, sympy's check that ``arg`` lies in (0, 1] or (1, 2] cannot succeed
    and is skipped; the rest of sympy's rule (whole-number terms out) is applied here.

    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> rounded(sympy.ceiling, H / 64 + 3), rounded(sympy.floor, (H - 1) / 2)
    (ceiling(H/64) + 3, floor(H/2 - 1/2))
    """
    arg = as_expr(arg)
    if arg.is_Number or not arg.free_symbols or arg.has(sympy.Float):
        return fn(arg)
    num, den = arg.as_numer_denom()
    if not (den.is_Integer and den > 1 and any(
            x.is_positive and _grows(num, x) for x in num.free_symbols)):
        return fn(arg)
    inner, whole = sympy.S.Zero, []
    for term in sympy.Add.make_args(num):
        if isinstance(term, fn) and not inner:
            inner = term
        elif term.is_Integer:
            whole.append(term)
        else:
            break
    else:  # fn((fn(x) + c)/d) = fn((x + c)/d): see the module's docstring
        if inner:
            return rounded(fn, (inner.args[0] + sympy.Add(*whole)) / den)
    terms = sympy.Add.make_args(arg)
    if all(t.is_Integer or _fraction(t) for t in terms):  # never provably whole
        whole = [t for t in terms if t.is_Integer]
        part = [t for t in terms if not t.is_Integer]
    else:
        if arg.is_integer:
            return arg
        whole, part = [], []
        for term in terms:
            (whole if term.is_integer else part).append(term)
    rest = sympy.Add(*part)
    if rest.is_number:  # sympy's own rule for a number (0 included)
        return sympy.Add(*whole) + fn(rest)
    if isinstance(rest, (sympy.floor, sympy.ceiling)):
        return sympy.Add(*whole) + rest
    return sympy.Add(*whole) + fn(rest, evaluate=False)


def _fraction_of(arg):
    """(numerator, denominator) of ``arg``: sympy's together (slow) only when the quick
    split leaves a denominator that is not a whole number."""
    num, den = arg.as_numer_denom()
    return (num, den) if den.is_Integer else sympy.together(arg).as_numer_denom()


def _collapse(e):
    fn = type(e)
    num, den = _fraction_of(e.args[0])
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
    return rounded(fn, (inner.args[0] + sympy.Add(*rest)) / den)


def _nested(e) -> bool:
    return isinstance(e, (sympy.floor, sympy.ceiling)) and e.args[0].has(type(e))


def _constant_out(e):
    """floor((n + r)/d) with the remainder of r kept inside, ceiling when it is d - 1."""
    num, den = _fraction_of(e.args[0])
    if not (den.is_Integer and den > 1):
        return None
    r, n = num.as_coeff_Add()
    if not (r.is_Integer and n.is_integer and not n.is_number):
        return None
    q, rest = divmod(int(r), int(den))
    if rest == int(den) - 1:
        return rounded(sympy.ceiling, n / den) + q
    if q == 0:
        return None
    return rounded(sympy.floor, (n + rest) / den) + q


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
