"""Exact evaluation of a formula over many points at once.

A formula is compiled once into NumPy code on integers. Rational coefficients are
cleared by a common denominator ``D`` (the code computes ``D * f`` and divides at the
end), and floor, ceiling and Mod become integer floor division and remainder, so
nothing passes through floating point. Before running, the largest magnitude any
intermediate value can reach on the grid is bounded (interval arithmetic on absolute
values, with Python integers); if it fits in 64 bits the code runs on ``int64``
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
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import sympy

INT64_LIMIT = 2**63 - 1


class _Unsupported(Exception):
    pass


class _Printer:
    """sympy expression -> (code for D*expr, D, code bounding |D*expr| at the maxima)."""

    def __init__(self, symbols):
        self.names = {s: f"x{i}" for i, s in enumerate(symbols)}
        self.bounds = {s: f"m{i}" for i, s in enumerate(symbols)}

    def emit(self, e):
        if e.is_Integer:
            v = int(e)
            return (f"({v})", 1, str(abs(v)))
        if e.is_Rational:
            return (f"({e.p})", int(e.q), str(abs(e.p)))
        if e.is_Symbol:
            if e not in self.names:
                raise _Unsupported(f"symbol {e} has no value")
            return (self.names[e], 1, self.bounds[e])
        method = getattr(self, "emit_" + type(e).__name__, None)
        if method is None:
            raise _Unsupported(type(e).__name__)
        return method(e)

    def _common(self, args):
        parts = [self.emit(a) for a in args]
        D = math.lcm(*[p[1] for p in parts])
        codes = [c if D == q else f"{c}*{D // q}" for c, q, _ in parts]
        bounds = [b if D == q else f"{b}*{D // q}" for _, q, b in parts]
        return codes, D, bounds

    def emit_Add(self, e):
        codes, D, bounds = self._common(e.args)
        return ("(" + " + ".join(codes) + ")", D, "_r(" + " + ".join(bounds) + ")")

    def emit_Mul(self, e):
        parts = [self.emit(a) for a in e.args]
        return ("(" + "*".join(p[0] for p in parts) + ")", math.prod(p[1] for p in parts),
                "_r(" + "*".join(p[2] for p in parts) + ")")

    def emit_Pow(self, e):
        base, exp = e.args
        if not (exp.is_Integer and exp > 0):
            raise _Unsupported(f"power {exp}")
        c, D, b = self.emit(base)
        n = int(exp)
        return (f"({c}**{n})", D**n, f"_r({b}**{n})")

    def emit_floor(self, e):
        c, D, b = self.emit(e.args[0])
        return (c, 1, b) if D == 1 else (f"({c}//{D})", 1, f"({b}//{D} + 1)")

    def emit_ceiling(self, e):
        c, D, b = self.emit(e.args[0])
        return (c, 1, b) if D == 1 else (f"(-((-{c})//{D}))", 1, f"({b}//{D} + 1)")

    def emit_Mod(self, e):
        (ca, Da, ba), (cb, Db, bb) = self.emit(e.args[0]), self.emit(e.args[1])
        return (f"(({ca}*{Db}) % ({cb}*{Da}))", Da * Db, f"_r2({ba}*{Db}, {bb}*{Da})")

    def _extreme(self, e, fn):
        codes, D, bounds = self._common(e.args)
        return (f"{fn}(" + ", ".join(codes) + ")", D, "_r(max(" + ", ".join(bounds) + "))")

    def emit_Min(self, e):
        return self._extreme(e, "_min")

    def emit_Max(self, e):
        return self._extreme(e, "_max")

    def emit_Abs(self, e):
        c, D, b = self.emit(e.args[0])
        return (f"abs({c})", D, b)


def _max_abs(values) -> int:
    import numpy as np

    a = np.asarray(values)
    if a.size == 0:
        return 0
    if a.dtype == object:
        return max(abs(int(v)) for v in a.flat)
    return max(abs(int(a.max())), abs(int(a.min())))


def _reduce(np_fn):
    def fn(*xs):
        out = xs[0]
        for x in xs[1:]:
            out = np_fn(out, x)
        return out
    return fn


@dataclass
class CompiledFormula:
    """A formula compiled for exact evaluation on arrays (see the module docstring).
    Call it with one array per symbol, in the order given to :func:`compile_formula`."""

    expr: sympy.Expr
    symbols: tuple
    code: str | None          # None: evaluated point by point with sympy
    denominator: int
    _run: Callable | None
    _bound: Callable | None

    def mode_for(self, *maxima) -> str:
        """'int64' if every intermediate value fits in 64 bits when each symbol is at
        most the given maxima (absolute values), else 'python int' (or 'sympy')."""
        if self._run is None:
            return "sympy"
        record: list[int] = []
        top = [_max_abs(m) for m in maxima]
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
    evaluation on integer arrays."""
    import numpy as np

    expr = sympy.sympify(expr)
    symbols = tuple(symbols)
    missing = expr.free_symbols - set(symbols)
    if missing:
        raise ValueError(f"symbols without values: {sorted(map(str, missing))}")
    printer = _Printer(symbols)
    try:
        code, D, bound = printer.emit(expr)
    except _Unsupported:
        return CompiledFormula(expr, symbols, None, 1, None, None)
    xs = ", ".join(printer.names[s] for s in symbols)
    ms = ", ".join(printer.bounds[s] for s in symbols)
    env = {"_min": _reduce(np.minimum), "_max": _reduce(np.maximum)}
    src = (f"def _run({xs}):\n    return {code}\n"
           f"def _bound(_rec, {ms}):\n"
           f"    def _r(v):\n        _rec.append(v)\n        return v\n"
           f"    def _r2(a, b):\n        _rec.append(a)\n        return _r(b)\n"
           f"    return _r({bound})\n")
    exec(compile(src, "<symparam formula>", "exec"), env)  # noqa: S102 - our own printer's code
    return CompiledFormula(expr, symbols, code, D, env["_run"], env["_bound"])


_RELATION_METHODS = {"==": "__eq__", "!=": "__ne__", "<": "__lt__", "<=": "__le__",
                     ">": "__gt__", ">=": "__ge__"}


def relation_mask(rel, symbols: Sequence[sympy.Symbol], columns):
    """Where a sympy relation (``Eq(Mod(d, H), 0)``, ``d >= 64``) holds, exactly, as a
    boolean array over the columns; None for a condition that is not a relation."""
    import numpy as np

    n = len(columns[0]) if columns else 1
    rel = sympy.sympify(rel)
    if rel is sympy.true or rel is sympy.false:
        return np.full(n, rel is sympy.true)
    method = _RELATION_METHODS.get(getattr(rel, "rel_op", None))
    if method is None:
        return None
    diff = compile_formula(rel.lhs - rel.rhs, symbols)(*columns)
    return np.asarray(getattr(diff, method)(0), dtype=bool)
