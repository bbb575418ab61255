"""Solve for one symbol: the size that meets a target, exactly.

The exact real roots come first (a polynomial, or a quotient of polynomials, in the
symbol: all of them, the metric may fall or rise and fall); for a step function
(floor, ceiling) the places where it crosses the target (:mod:`.crossings`). Then,
on either side of each, the nearest value that is *admissible*: a whole number at
least 1 that meets the ``where`` conditions and that `count --set SYMBOL=VALUE`
accepts (every deferred condition of the model holds, every size is a positive whole
number, see :mod:`.admissible`). Each candidate is counted by analyzing the model
again at that value, as `count` does, so the number reported is the one `count --set`
prints, and labelled by it: below, above or at the target. The search is bounded
(:data:`~symparam.limits.SOLVE_STEPS` values each way,
:data:`~symparam.limits.SOLVE_RECOUNTS` values `count` refuses,
:data:`~symparam.limits.SOLVE_CROSSINGS` roots or crossings followed).

>>> from symparam import analyze
>>> s = analyze("model m(n = 100, h = 2):\\n    input [n]\\n    dense h\\n")
>>> r = solve(s, "h", "params", 1000)
>>> r.roots, [(c.value, c.metric) for c in r.candidates]
([1000/101], [(9, 909), (10, 1010)])
>>> s = analyze("model m(d = 63, h = 3):\\n    input [d]\\n    dense d / h\\n")
>>> [(c.value, c.metric) for c in solve(s, "d", "params", 1000).candidates]
[(54, 990), (57, 1102)]
>>> [(c.side, c.value, c.metric) for c in solve(s, "h", "params", 1000).candidates]
[('above', 3, 1344), ('below', 7, 576)]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import sympy

from ..errors import UsageError
from ..limits import (SOLVE_CROSSINGS, SOLVE_PROBE_BITS, SOLVE_RECOUNTS, SOLVE_SCAN,
                      SOLVE_STEPS)
from ..stats import ModelStats
from .admissible import ARGUMENT, HOLDS, Condition, holds, model_conditions, recount
from .crossings import Crossings, Unsupported, crossings, signs
from .metrics import MetricOptions, metric_expr
from .sweep import bindings, fixed_values, grid_symbols


@dataclass(frozen=True)
class Candidate:
    value: int
    metric: int
    side: str  # the metric "below", "above" or "exact"ly at the target


@dataclass(frozen=True)
class SolveResult:
    symbol: sympy.Symbol
    metric: str
    target: int
    equation: sympy.Expr      # metric(symbol) with the other symbols at their values
    roots: list               # exact real roots >= 1 (sympy numbers); [] for steps
    crossings: Optional[Crossings]  # where a step function crosses the target
    candidates: list          # nearest admissible integers with their exact metric
    conditions: list          # what "admissible" meant (admissible.Condition)
    fixed: dict
    # Was each candidate counted by `count` itself (the model analyzed at that value)?
    # False with model_checks=False: then only the sizes were required to be whole.
    recounted: bool = True
    refused: tuple = ()       # (value, count's message) for values passed over

    @property
    def bracket(self) -> Optional[tuple]:
        """(lo, hi) of the first crossing of a step function: the target lies between
        (or, equal, on) the metric at lo and at hi."""
        return self.crossings.found[0][:2] if self.crossings else None


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


_STEPS = (sympy.floor, sympy.ceiling, sympy.Mod, sympy.Min, sympy.Max, sympy.Abs)


def _exact_roots(g, x, target: int) -> Optional[list]:
    """The real roots >= 1 of g = target for a polynomial (the fast, common path) or a
    quotient of polynomials (`dense d / h`, solved for h: it falls), in order; None
    for anything else."""
    f = sympy.expand(g) - target
    roots = _polynomial_roots(f, x)
    if roots is not None or f.has(*_STEPS):
        return roots
    # In lowest terms, no root of the numerator is a pole.
    num, _ = sympy.fraction(sympy.cancel(sympy.together(f)))
    return _polynomial_roots(num, x)


def _at(f, x, n: int):
    return f.xreplace({x: sympy.Integer(n)})


def _side(metric: int, target: int) -> str:
    return "exact" if metric == target else "below" if metric < target else "above"


def solve(stats: ModelStats, symbol: str, metric: str, target: int,
          options: MetricOptions = MetricOptions(), where: Sequence = (),
          model_checks: bool = True) -> SolveResult:
    """The values of ``symbol`` for which ``metric`` equals ``target``: the exact
    positive real roots (or, for a step function, the places where it crosses the
    target), then the nearest admissible integers on either side of each, with their
    exact metric, labelled by whether it is below, above or at the target.
    Admissible: ``where`` relations hold, every size is a positive whole number, and
    (with ``model_checks``) `count` accepts the model at that value: its own
    conditions, such as divisibility by the heads, hold."""
    (x,) = grid_symbols(stats, [symbol])
    expr = metric_expr(stats, metric, options)
    conds = [Condition(HOLDS, rel) for rel in where]
    conds += model_conditions(stats, model_checks)
    fixed = fixed_values(stats, [expr, *conds], [x], "solve for it")
    g = expr.xreplace(fixed)
    if x not in g.free_symbols:
        raise UsageError(f"{metric} does not depend on {x} (with "
                         f"{', '.join(f'{k} = {v}' for k, v in fixed.items()) or 'no values'})"
                         f": {metric} = {g}")
    conds = [c.bound(fixed) for c in conds]
    conds = [c for c in conds if not c.trivial]
    roots = _exact_roots(g, x, target)
    found = None
    if roots is None:
        found = _crossings(g, x, metric, target)
        starts = [(lo, hi) for lo, hi, _ in found.found]
    else:
        if not roots:
            raise UsageError(_unreachable(metric, x, target, _at(g, x, 1)))
        starts = [(max(int(sympy.floor(r)), 1), int(sympy.ceiling(r)))
                  for r in roots[:SOLVE_CROSSINGS]]
    counter = _Counter(stats, x, metric, options, g, model_checks)
    candidates: list[Candidate] = []
    for lo, hi in starts:
        for start, step in ((lo, -1), (hi, 1)):
            hit = _walk(conds, x, start, step, counter)
            if hit is not None and hit[0] not in [c.value for c in candidates]:
                candidates.append(Candidate(hit[0], hit[1], _side(hit[1], target)))
    if not candidates:
        raise UsageError(_none_admissible(x, conds, counter))
    return SolveResult(x, metric, target, g, roots or [], found, candidates, conds, fixed,
                       model_checks, tuple(counter.refused))


def _crossings(g, x, metric: str, target: int) -> Crossings:
    try:
        found = crossings(g, x, target)
    except Unsupported as err:
        raise UsageError(f"solve cannot search {metric}({x}) = {target:,}: it has no "
                         f"closed-form root and uses {err}, which solve does not "
                         f"evaluate exactly; try `sweep` over {x}") from None
    if not found.found:
        side = "above" if signs(g, x, target, [1])[0] == 1 else "below"
        raise UsageError(
            f"no positive whole {x} gives {metric} = {target:,}: {metric} is "
            f"{side} it at every {x} from 1 to {SOLVE_SCAN:,} (each "
            f"evaluated, the limit SOLVE_SCAN) and at each power of 2 up to "
            f"2**{SOLVE_PROBE_BITS} (SOLVE_PROBE_BITS); at {x} = 1 it is {_at(g, x, 1)}")
    return found


class _Counter:
    """The metric at a value of the symbol as `count --set` gives it: the model analyzed
    again at that value (with the other symbols as given; a default that uses the
    symbol follows it), or, without the model's checks, the formula, when whole."""

    def __init__(self, stats, x, metric, options, g, model_checks: bool):
        self.stats, self.x, self.metric, self.options, self.g = stats, x, metric, options, g
        self.model_checks = model_checks
        self.given = {s.name: int(v) for s, v in bindings(stats, [x]).items() if v.is_Integer}
        self.refused: list[tuple[int, str]] = []

    def __call__(self, n: int) -> Optional[int]:
        if not self.model_checks:
            v = _at(self.g, self.x, n)
            return int(v) if v.is_Integer else None
        again, why = recount(self.stats, {**self.given, self.x.name: n})
        if again is None:
            self.refused.append((n, why))
            return None
        v = again.value(metric_expr(again, self.metric, self.options))
        return v  # None: not a whole number, which `count` would have refused

    @property
    def exhausted(self) -> bool:
        return len(self.refused) >= SOLVE_RECOUNTS


WALK_CHUNK = 4096


def _walk(conds, x, start: int, step: int, counter: _Counter):
    """The first n from ``start`` in direction ``step`` (n >= 1) where every condition
    holds and `count` accepts the model, with its metric; the conditions are checked a
    chunk of candidates at a time (vectorized), `count` only for those that pass."""
    import numpy as np

    done = 0
    while done < SOLVE_STEPS and not counter.exhausted:
        end = min(done + WALK_CHUNK, SOLVE_STEPS)
        small = max(abs(start), abs(start + step * end)) < 2 ** 62  # int64, without a
        ns = start + step * np.arange(done, end, dtype=np.int64 if small else object)
        ns = ns[ns >= 1]
        if not len(ns):
            return None
        ok = np.ones(len(ns), dtype=bool)
        for c in conds:
            if c.kind != ARGUMENT:  # arguments: `count` itself checks them, once per value
                ok &= holds(c, (x,), [ns])
        for i in np.flatnonzero(ok):
            n = int(ns[i])
            value = counter(n)
            if value is not None:
                return n, value
            if counter.exhausted:
                return None
        done += WALK_CHUNK
    return None


def _none_admissible(x, conds, counter: _Counter) -> str:
    from .admissible import message

    text = f"no admissible value of {x} near the root"
    if counter.exhausted:
        shown = ", ".join(f"{x} = {n:,}" for n, _ in counter.refused[:3])
        return (f"{text}: count refuses the {len(counter.refused)} nearest values that "
                f"meet the conditions ({shown}, ...; at most {SOLVE_RECOUNTS} are tried), "
                f"for instance: {counter.refused[0][1]}")
    where = "; ".join(message(c) for c in conds) or "count accepts the model"
    return (f"{text}: the conditions {where} hold nowhere within {SOLVE_STEPS:,} "
            f"values each way")


def _unreachable(metric, x, target, at_one) -> str:
    return (f"no positive whole {x} gives {metric} = {target:,}: at {x} = 1 it is already "
            f"{int(at_one):,}" if at_one.is_Integer and at_one > target else
            f"no positive {x} gives {metric} = {target:,} ({metric} never reaches it)")
