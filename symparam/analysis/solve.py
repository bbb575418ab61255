"""Solve for one symbol: the size that meets a target, exactly.

>>> from symparam import analyze
>>> s = analyze("model m(n = 100, h = 2):\\n    input [n]\\n    dense h\\n")
>>> r = solve(s, "h", "params", 1000)
>>> r.roots, [(c.value, c.metric) for c in r.candidates]
([1000/101], [(9, 909), (10, 1010)])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import sympy

from ..errors import UsageError
from ..stats import ModelStats
from .evaluate import relation_mask
from .metrics import MetricOptions, metric_expr
from .sweep import fixed_values, grid_symbols

MAX_STEPS = 1_000_000  # how far to walk from a root looking for an admissible integer


@dataclass(frozen=True)
class Candidate:
    value: int
    metric: int
    side: str  # "below", "above" or "exact"


@dataclass(frozen=True)
class SolveResult:
    symbol: sympy.Symbol
    metric: str
    target: int
    equation: sympy.Expr      # metric(symbol) with the other symbols at their values
    roots: list               # exact positive real roots (sympy numbers); [] for steps
    bracket: Optional[tuple]  # (n, n+1) the target lies between, when no closed form
    candidates: list          # nearest admissible integers with their exact metric
    conditions: list          # what "admissible" meant
    fixed: dict


def _polynomial_roots(f, x) -> Optional[list]:
    try:
        poly = sympy.Poly(f, x)
    except sympy.PolynomialError:
        return None
    if not poly.domain.is_Exact or any(not c.is_Rational for c in poly.all_coeffs()):
        return None
    if poly.degree() <= 2:
        roots = [r for r in sympy.roots(poly, x) if r.is_real]
    else:
        roots = poly.real_roots()
    # A root below 1 is no size: the smallest model already exceeds the target.
    return sorted({r for r in roots if (r - 1).is_nonnegative}, key=lambda r: float(r))


def _at(f, x, n: int):
    return f.xreplace({x: sympy.Integer(n)})


def _bracket(g, x, target: int):
    """For a step function (floor, ceiling): the n with g(n) <= target < g(n+1),
    found by doubling then bisection; assumes g grows with x, and checks it does."""
    lo, hi = 1, 2
    if _at(g, x, lo) > target:
        return None
    while _at(g, x, hi) <= target:
        lo, hi = hi, hi * 2
        if hi > 2**200:
            return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _at(g, x, mid) <= target:
            lo = mid
        else:
            hi = mid
    return lo, hi


def solve(stats: ModelStats, symbol: str, metric: str, target: int,
          options: MetricOptions = MetricOptions(), where: Sequence = (),
          model_checks: bool = True) -> SolveResult:
    """The values of ``symbol`` for which ``metric`` equals ``target``: the exact
    positive real roots, then the nearest admissible integers below and above each
    with their exact metric. Admissible: ``where`` relations hold, and (with
    ``model_checks``) the model's own conditions such as divisibility by the heads."""
    (x,) = grid_symbols(stats, [symbol])
    expr = metric_expr(stats, metric, options)
    conds = list(where)
    if model_checks:
        conds += [c for c, _, _ in stats.checks]
    fixed = fixed_values(stats, [expr, *conds], [x], f"solve for it")
    g = expr.xreplace(fixed)
    if x not in g.free_symbols:
        raise UsageError(f"{metric} does not depend on {x} (with "
                         f"{', '.join(f'{k} = {v}' for k, v in fixed.items()) or 'no values'})"
                         f": {metric} = {g}")
    conds = [c.xreplace(fixed) for c in conds]
    conds = list(dict.fromkeys(c for c in conds if c is not sympy.true))  # once each
    at_one = _at(g, x, 1)
    roots = _polynomial_roots(sympy.expand(g) - target, x)
    bracket = None
    if roots is None:
        bracket = _bracket(g, x, target)
        if bracket is None:
            raise UsageError(_unreachable(metric, x, target, at_one))
        starts = [(bracket[0], bracket[1])]
    else:
        if not roots:
            raise UsageError(_unreachable(metric, x, target, at_one))
        starts = []
        for r in roots:
            lo, hi = int(sympy.floor(r)), int(sympy.ceiling(r))
            starts.append((max(lo, 1), hi))
    candidates: list[Candidate] = []
    for lo, hi in starts:
        exact = lo == hi
        for start, step, side in ((lo, -1, "below"), (hi, 1, "above")):
            n = _walk(conds, x, start, step)
            if n is None:
                continue
            c = Candidate(n, int(_at(g, x, n)), "exact" if exact and n == lo else side)
            if c not in candidates:
                candidates.append(c)
    if not candidates:
        raise UsageError(f"no admissible value of {x} near the root: the conditions "
                         f"{', '.join(map(str, conds))} hold nowhere within "
                         f"{MAX_STEPS:,} steps")
    return SolveResult(x, metric, target, g, roots or [], bracket, candidates, conds, fixed)


WALK_CHUNK = 4096


def _walk(conds, x, start: int, step: int) -> Optional[int]:
    """The first n from ``start`` in direction ``step`` (n >= 1) where every condition
    holds; checked a chunk of candidates at a time with the exact compiled evaluator."""
    import numpy as np

    done = 0
    while done < MAX_STEPS:
        ns = start + step * np.arange(done, done + WALK_CHUNK, dtype=object)
        ns = ns[ns >= 1]
        if not len(ns):
            return None
        ok = np.ones(len(ns), dtype=bool)
        for c in conds:
            mask = relation_mask(c, (x,), [ns])
            if mask is None:  # not a relation: check these candidates one by one
                mask = np.array([bool(c.xreplace({x: sympy.Integer(int(v))})) for v in ns])
            ok &= mask
        hits = np.flatnonzero(ok)
        if len(hits):
            return int(ns[hits[0]])
        done += WALK_CHUNK
    return None


def _unreachable(metric, x, target, at_one) -> str:
    return (f"no positive whole {x} gives {metric} = {target:,}: at {x} = 1 it is already "
            f"{int(at_one):,}" if at_one.is_Integer and at_one > target else
            f"no positive {x} gives {metric} = {target:,} ({metric} never reaches it)")
