"""Leading terms: which part of a formula dominates as some symbols grow, and the
share of each group of layers (embeddings, attention, feed-forward, ...: each layer
kind names its own group, :attr:`symparam.layers.base.LayerKind.group`).

Floor and ceiling stay exact: each ``floor(a)`` whose argument grows is written
``a - ε`` and each ``ceiling(a)`` ``a + ε``, with ``ε`` a bounded error, ``0 <= ε < 1``
(defined in :attr:`LeadingResult.errors`). The terms of each degree are then exact;
those with an ε are also given as bounds (:attr:`LeadingResult.bounds`), because an
ε multiplied by the growing symbols is a term of that lower degree, not a constant:
``256*(d + 1)*ceiling(d/96)`` is ``8*d**2/3`` + ``8*d/3 + 256*d*ε1`` + ``256*ε1``,
and its degree-1 part lies between ``8*d/3`` and ``776*d/3``, not at ``8*d/3``.

>>> from symparam import analyze
>>> s = analyze("model m(n = 100, h = 2, L = 3):\\n    input [n]\\n    repeat L:\\n"
...             "        dense n\\n")
>>> r = leading(s, ["n", "L"])
>>> r.orders
[(3, L*n**2), (2, L*n)]
>>> r = leading(analyze("model m(d = 96):\\n    input [d]\\n    dense 256 * ceil(d / 96)\\n"), ["d"])
>>> r.orders, r.errors, r.bounds
([(2, 8*d**2/3), (1, 256*d*ε1 + 8*d/3), (0, 256*ε1)], [(ε1, -d/96 + ceiling(d/96))], {1: (8*d/3, 776*d/3), 0: (0, 256)})
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import sympy

from ..errors import UsageError
from ..exprs import as_expr
from ..layers import lookup
from ..stats import ModelStats
from .metrics import COUNTS, MetricOptions, metric_expr
from .sweep import grid_symbols


def kind_group(kind: str) -> str:
    """The group a layer kind belongs to, as the kind says (its ``group``; ``other``
    for a name no kind has): ``kind_group("layernorm") == "normalization"``."""
    found = lookup(kind)
    return found.group if found is not None else "other"


def block_group(path: Sequence[str]) -> str:
    """The outermost named block of a layer's path (repeats skipped), or ``(top)``."""
    for part in path:
        if not part.startswith("repeat"):
            return part
    return "(top)"


@dataclass(frozen=True)
class Group:
    name: str
    expr: sympy.Expr
    leading: sympy.Expr       # its own highest-degree terms in the symbols
    value: Optional[int]      # at the values in effect
    share: Optional[float]    # of the total at the values in effect
    limit_share: object       # of the total's leading terms, as the symbols grow


@dataclass(frozen=True)
class LeadingResult:
    symbols: list
    metric: str
    expr: sympy.Expr                 # the metric, floor(a) as a - ε and ceiling(a) as a + ε
    orders: list                     # (total degree, terms of that degree), highest first
    approximated: bool               # are there floors or ceilings (and so errors ε)?
    value: Optional[int]
    leading_value: Optional[int]     # the leading terms at the values in effect
    groups: list
    # Each error symbol and what it stands for (ceiling(a) - a or a - floor(a), in [0, 1)).
    errors: list = field(default_factory=list)
    # degree -> (lowest, highest) its terms can be, for the degrees whose terms have an ε
    # (None where the signs of its coefficients are not known).
    bounds: dict = field(default_factory=dict)


def _orders(expr, gens) -> list:
    try:
        poly = sympy.Poly(sympy.expand(expr), *gens)
    except sympy.PolynomialError:
        raise UsageError(f"cannot take leading terms in {', '.join(map(str, gens))}: the "
                         f"formula is not a polynomial in them ({expr})") from None
    by_degree: dict[int, sympy.Expr] = {}
    for monom, coeff in poly.terms():
        deg = sum(monom)
        term = coeff * sympy.Mul(*[g**k for g, k in zip(gens, monom)])
        by_degree[deg] = by_degree.get(deg, sympy.Integer(0)) + term
    return [(deg, sympy.factor_terms(by_degree[deg])) for deg in sorted(by_degree, reverse=True)]


class _Steps:
    """floor(a) -> a - ε, ceiling(a) -> a + ε for arguments that grow with ``gens``;
    one ε per distinct floor or ceiling, shared by the total and the groups."""

    def __init__(self, gens):
        self.gens = set(gens)
        self.errors: dict = {}  # floor/ceiling expression -> (ε, its definition)

    def __call__(self, expr):
        if not expr.args or not expr.has(sympy.floor, sympy.ceiling):
            return expr
        args = [self(a) for a in expr.args]
        if isinstance(expr, (sympy.floor, sympy.ceiling)) and \
                expr.args[0].free_symbols & self.gens:
            if expr not in self.errors:
                eps = sympy.Symbol(f"ε{len(self.errors) + 1}", nonnegative=True)
                a = expr.args[0]
                self.errors[expr] = (eps, expr - a if isinstance(expr, sympy.ceiling)
                                     else a - expr)
            eps = self.errors[expr][0]
            return args[0] + eps if isinstance(expr, sympy.ceiling) else args[0] - eps
        return expr.func(*args)

    @property
    def symbols(self) -> list:
        return [eps for eps, _ in self.errors.values()]

    def tidy(self, terms):
        """The terms without an ε, then those with one: 8*d/3 + 256*d*ε1."""
        if not terms.has(*self.symbols):
            return terms
        plain, bounded = sympy.expand(terms).as_independent(*self.symbols, as_Add=True)
        return sympy.factor_terms(plain) + sympy.factor_terms(bounded)

    def exact(self, expr):
        """``expr`` with each ε put back as what it stands for."""
        return expr.xreplace({eps: d for eps, d in self.errors.values()})

    def bounds(self, terms):
        """(lowest, highest) of ``terms`` for every ε in [0, 1); None if unknown signs."""
        eps = [e for e in self.symbols if e in terms.free_symbols]
        if not eps:
            return None
        low = high = sympy.Integer(0)
        for monom, coeff in sympy.Poly(sympy.expand(terms), *eps).terms():
            if not any(monom):
                low, high = low + coeff, high + coeff
            elif coeff.is_nonnegative:
                high += coeff
            elif coeff.is_nonpositive:
                low += coeff
            else:
                return None
        return sympy.factor_terms(low), sympy.factor_terms(high)


def leading(stats: ModelStats, names: Sequence[str], metric: str = "params",
            options: MetricOptions = MetricOptions(), group_by: str = "kind") -> LeadingResult:
    """The terms of ``metric`` by total degree in the named symbols (highest first),
    and each layer group's part. Other symbols stay symbolic in the terms; floor and
    ceiling become their argument and a bounded error ε (see the module docstring)."""
    if not names:
        raise UsageError("name the growing symbols with --in, such as --in d,L")
    gens = grid_symbols(stats, names)
    expr = metric_expr(stats, metric, options)
    # Groups are sums of the layers' own counts, so they exist for the parameter
    # metrics (LayerStats has params, trainable, non_trainable, buffers, active).
    per_layer = None
    if metric in COUNTS:
        per_layer = [(layer, getattr(layer, metric)) for layer in stats.model_layers]
    elif metric in ("macs", "flops"):  # costs are per-layer sums too (uncounted: left out)
        per_layer = [(layer, as_expr(layer.macs) * (2 if metric == "flops" else 1))
                     for layer in stats.model_layers if layer.macs is not None]
    steps = _Steps(gens)
    split = steps(expr)
    orders = [(deg, steps.tidy(t)) for deg, t in _orders(split, gens)]
    if orders and orders[0][1] == 0:
        orders = []
    if not any(deg > 0 for deg, _ in orders):
        raise UsageError(f"{metric} does not grow with {', '.join(names)}: it is {expr}")
    top_deg, top = orders[0]
    value, lead_value = stats.value(expr), stats.value(steps.exact(top))
    groups = []
    if per_layer is not None:
        parts: dict[str, sympy.Expr] = {}
        for layer, e in per_layer:
            if e == 0:
                continue
            key = kind_group(layer.kind) if group_by == "kind" else block_group(layer.path)
            parts[key] = parts.get(key, sympy.Integer(0)) + e
        for key, e in parts.items():
            g_orders = _orders(steps(e), gens)
            g_lead = g_orders[0][1] if g_orders else sympy.Integer(0)
            g_top = next((t for d, t in g_orders if d == top_deg), sympy.Integer(0))
            v = stats.value(e)
            groups.append(Group(key, e, g_lead, v,
                                v / value if v is not None and value else None,
                                sympy.cancel(g_top / top)))
        groups.sort(key=lambda g: (-(g.value or 0), g.name))
    bounds = {deg: b for deg, terms in orders if (b := steps.bounds(terms)) is not None}
    return LeadingResult(list(gens), metric, split, orders, bool(steps.errors), value,
                         lead_value, groups, [(eps, d) for eps, d in steps.errors.values()],
                         bounds)
