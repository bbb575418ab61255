"""Exact evaluation of a formula over many points at once.

A formula is compiled once into nested NumPy operations on integers (closures: no
code is generated). Rational coefficients are cleared by a common denominator ``D``
(the operations compute ``D * f`` and divide at the end), and floor, ceiling and Mod become integer floor division and remainder, so
nothing passes through floating point. Before running, the largest magnitude any
intermediate value can reach on the grid is bounded (interval arithmetic on absolute
values, with Python integers); if it fits in 64 bits they run on ``int64``
arrays, otherwise on arrays of Python integers, which are exact at any size. What
the compiler does not understand is evaluated point by point with sympy.

>>> import numpy as np, sympy
>>> d, L = sympy.symbols("d L", integer=True, positive=True)
>>> f = compile_formula(12 * L * d**2 + sympy.floor(d / 3), (d, L))
>>> f(np.array([10, 2**40]), np.array([1, 10**6])).tolist()
[1203, 14507109835375550096840615875925]
>>> f.mode_for([10], [1]), f.mode_for([2**40], [10**6])
('int64', 'python int')
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import lru_cache
from fractions import Fraction
from typing import Callable, Sequence

import sympy
from ..exprs import as_expr

INT64_LIMIT = 2**63 - 1


class _Unsupported(Exception):
    pass


class _Printer:
    """sympy expression -> (function computing D*expr from the symbols' arrays, D,
    function bounding |D*expr| from the symbols' largest magnitudes, recording every
    intermediate bound). Plain closures: no code is generated or executed."""

    def __init__(self, symbols):
        self.index = {s: i for i, s in enumerate(symbols)}

    def emit(self, e):
        if e.is_Integer or e.is_Rational:
            p, q = int(e.p), int(e.q)
            return (lambda xs: p), q, (lambda ms, rec: abs(p))
        if e.is_Symbol:
            if e not in self.index:
                raise _Unsupported(f"symbol {e} has no value")
            i = self.index[e]
            return (lambda xs: xs[i]), 1, (lambda ms, rec: ms[i])
        method = getattr(self, "emit_" + type(e).__name__, None)
        if method is None:
            raise _Unsupported(type(e).__name__)
        return method(e)

    def _common(self, args):
        """The arguments' functions over one common denominator D."""
        parts = [self.emit(a) for a in args]
        D = math.lcm(*[q for _, q, _ in parts])
        return ([_scaled(run, D // q) for run, q, _ in parts], D,
                [_scaled_bound(bound, D // q) for _, q, bound in parts])

    def emit_Add(self, e):
        runs, D, bounds = self._common(e.args)
        return (_fold(runs, operator.add), D,
                lambda ms, rec: _record(rec, sum(b(ms, rec) for b in bounds)))

    def emit_Mul(self, e):
        parts = [self.emit(a) for a in e.args]
        bounds = [b for _, _, b in parts]
        return (_fold([r for r, _, _ in parts], operator.mul), math.prod(q for _, q, _ in parts),
                lambda ms, rec: _record(rec, math.prod(b(ms, rec) for b in bounds)))

    def emit_Pow(self, e):
        base, exp = e.args
        if not (exp.is_Integer and exp > 0):
            raise _Unsupported(f"power {exp}")
        run, D, bound = self.emit(base)
        n = int(exp)
        return (lambda xs: run(xs) ** n), D**n, (lambda ms, rec: _record(rec, bound(ms, rec) ** n))

    def emit_floor(self, e):
        run, D, bound = self.emit(e.args[0])
        if D == 1:
            return run, 1, bound
        return (lambda xs: run(xs) // D), 1, (lambda ms, rec: bound(ms, rec) // D + 1)

    def emit_ceiling(self, e):
        run, D, bound = self.emit(e.args[0])
        if D == 1:
            return run, 1, bound
        return (lambda xs: -((-run(xs)) // D)), 1, (lambda ms, rec: bound(ms, rec) // D + 1)

    def emit_Mod(self, e):
        (ra, Da, ba), (rb, Db, bb) = self.emit(e.args[0]), self.emit(e.args[1])

        def bound(ms, rec):
            _record(rec, ba(ms, rec) * Db)
            return _record(rec, bb(ms, rec) * Da)
        return (lambda xs: (ra(xs) * Db) % (rb(xs) * Da)), Da * Db, bound

    def _extreme(self, e, np_fn):
        runs, D, bounds = self._common(e.args)
        return (_fold(runs, np_fn), D,
                lambda ms, rec: _record(rec, max(b(ms, rec) for b in bounds)))

    def emit_Min(self, e):
        import numpy as np
        return self._extreme(e, np.minimum)

    def emit_Max(self, e):
        import numpy as np
        return self._extreme(e, np.maximum)

    def emit_Abs(self, e):
        run, D, bound = self.emit(e.args[0])
        return (lambda xs: abs(run(xs))), D, bound


def _record(rec: list, v):
    rec.append(v)
    return v


def _scaled(run, k: int):
    return run if k == 1 else (lambda xs: run(xs) * k)


def _scaled_bound(bound, k: int):
    return bound if k == 1 else (lambda ms, rec: bound(ms, rec) * k)


def _fold(runs, op):
    """``op`` applied left to right over the runs' results: a + b + c."""
    def run(xs):
        out = runs[0](xs)
        for r in runs[1:]:
            out = op(out, r(xs))
        return out
    return run


def _max_abs(values) -> int:
    import numpy as np

    a = np.asarray(values)
    if a.size == 0:
        return 0
    # int() keeps the order, so the ends give the largest magnitude (object arrays of
    # Python numbers too, without a Python loop over their items)
    return max(abs(int(a.max())), abs(int(a.min())))


@dataclass
class CompiledFormula:
    """A formula compiled for exact evaluation on arrays (see the module docstring).
    Call it with one array per symbol, in the order given to :func:`compile_formula`."""

    expr: sympy.Expr
    symbols: tuple
    code: str | None          # the formula compiled; None: evaluated point by point
    denominator: int
    _run: Callable | None
    _bound: Callable | None

    def mode_for(self, *maxima) -> str:
        """'int64' if every intermediate value fits in 64 bits when each symbol is at
        most the given maxima (absolute values), else 'python int' (or 'sympy')."""
        if self._run is None or self._bound is None:
            return "sympy"
        record: list[int] = []
        top = [_max_abs(m) for m in maxima]
        if max(top, default=0) * 2 > INT64_LIMIT:  # a column (even one the formula
            return "python int"                    # does not use) must fit, to be cast
        self._bound(record, *top)
        return "int64" if max(record, default=0) * 2 <= INT64_LIMIT else "python int"

    def __call__(self, *columns):
        import numpy as np

        mode = self.mode_for(*columns)
        n = len(columns[0]) if columns else 1
        if mode == "sympy":
            return self._pointwise(columns, n)
        dtype = np.int64 if mode == "int64" else object
        arrays = [np.asarray(c).astype(dtype) for c in columns]
        with np.errstate(all="raise"):
            raw = self._run(*arrays)
        raw = np.broadcast_to(np.asarray(raw, dtype=dtype), (n,)) if np.ndim(raw) == 0 else raw
        D = self.denominator
        if D == 1:
            return raw
        exact = raw % D == 0
        if bool(np.all(exact)):
            return raw // D
        out = raw.astype(object)
        for i in np.flatnonzero(~exact):
            out[i] = Fraction(int(raw[i]), D)
        out[exact] = raw[exact] // D
        return out

    def _pointwise(self, columns, n):
        import numpy as np

        out = np.empty(n, dtype=object)
        for i in range(n):
            v = self.expr.xreplace({s: sympy.Integer(int(c[i]))
                                    for s, c in zip(self.symbols, columns)})
            out[i] = int(v) if v.is_Integer else (Fraction(int(v.p), int(v.q))
                                                  if v.is_Rational else v)
        return out


def compile_formula(expr, symbols: Sequence[sympy.Symbol]) -> CompiledFormula:
    """Compile ``expr`` (whose free symbols must all be in ``symbols``) for exact
    evaluation on integer arrays. The same formula is compiled once (``solve`` checks
    its conditions a chunk of candidates at a time)."""
    return _compile(as_expr(expr), tuple(symbols))


@lru_cache(maxsize=256)
def _compile(expr, symbols: tuple) -> CompiledFormula:
    missing = expr.free_symbols - set(symbols)
    if missing:
        raise ValueError(f"symbols without values: {sorted(map(str, missing))}")
    printer = _Printer(symbols)
    try:
        run, D, bound = printer.emit(expr)
    except _Unsupported:
        return CompiledFormula(expr, symbols, None, 1, None, None)
    return CompiledFormula(expr, symbols, str(expr), D, lambda *xs: run(xs),
                           lambda rec, *ms: _record(rec, bound(ms, rec)))


_RELATION_METHODS = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__",
                     ">": "__gt__", ">=": "__ge__"}


def relation_mask(rel, symbols: Sequence[sympy.Symbol], columns):
    """Where a sympy relation (``Eq(Mod(d, H), 0)``, ``d >= 64``), or relations joined
    by And, Or and Not, holds, exactly, as a boolean array over the columns; None for a
    condition that is not one."""
    import numpy as np

    n = len(columns[0]) if columns else 1
    rel = as_expr(rel)
    if rel is sympy.true or rel is sympy.false:
        return np.full(n, rel is sympy.true)
    if isinstance(rel, (sympy.And, sympy.Or, sympy.Not)):
        masks = [relation_mask(a, symbols, columns) for a in rel.args]
        if any(m is None for m in masks):
            return None
        if isinstance(rel, sympy.Not):
            return ~masks[0]
        return (np.logical_and if isinstance(rel, sympy.And) else np.logical_or).reduce(masks)
    method = _RELATION_METHODS.get(getattr(rel, "rel_op", ""))
    if method is None:
        return None
    diff = compile_formula(rel.lhs - rel.rhs, symbols)(*columns)
    return np.asarray(getattr(diff, method)(0), dtype=bool)
