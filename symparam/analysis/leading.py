"""Leading terms: which part of a formula dominates as some symbols grow, and the
share of each group of layers (embeddings, attention, feed-forward, ...).

>>> from symparam import analyze
>>> s = analyze("model m(n = 100, h = 2, L = 3):\\n    input [n]\\n    repeat L:\\n"
...             "        dense n\\n")
>>> r = leading(s, ["n", "L"])
>>> r.orders
[(3, L*n**2), (2, L*n)]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import sympy

from ..errors import UsageError
from ..stats import ModelStats
from .metrics import MetricOptions, metric_expr
from .sweep import grid_symbols

# Layer kind -> group, for the share of each group in the total.
GROUPS = {"embedding": "embeddings", "attention": "attention", "dense": "feed-forward",
          "lstm": "recurrent", "gru": "recurrent", "simple_rnn": "recurrent"}
_GROUP_PATTERNS = (("norm", "normalization"), ("conv", "convolution"),
                   ("rnn", "recurrent"), ("attention", "attention"), ("embed", "embeddings"))


def kind_group(kind: str) -> str:
    """The group a layer kind belongs to: ``kind_group("layernorm") == "normalization"``."""
    if kind in GROUPS:
        return GROUPS[kind]
    for pattern, group in _GROUP_PATTERNS:
        if pattern in kind:
            return group
    return "other"


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
    expr: sympy.Expr                 # the metric, floors and ceilings replaced
    orders: list                     # (total degree, terms of that degree), highest first
    approximated: bool               # were floor/ceiling replaced by their arguments?
    value: Optional[int]
    leading_value: Optional[int]     # the leading terms at the values in effect
    groups: list


def _smooth(expr) -> tuple[sympy.Expr, bool]:
    smooth = expr.replace(sympy.floor, lambda a: a).replace(sympy.ceiling, lambda a: a)
    return smooth, smooth != expr


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


def leading(stats: ModelStats, names: Sequence[str], metric: str = "params",
            options: MetricOptions = MetricOptions(), group_by: str = "kind") -> LeadingResult:
    """The terms of ``metric`` by total degree in the named symbols (highest first),
    and each layer group's part. Other symbols stay symbolic in the terms."""
    if not names:
        raise UsageError("name the growing symbols with --in, such as --in d,L")
    gens = grid_symbols(stats, names)
    expr = metric_expr(stats, metric, options)
    # Groups are sums of the layers' own counts, so they exist for the parameter
    # metrics (LayerStats has params, trainable, non_trainable, buffers).
    per_layer = None
    if metric in ("params", "trainable", "non_trainable", "buffers"):
        per_layer = [(layer, getattr(layer, metric)) for layer in stats.model_layers]
    elif metric in ("macs", "flops"):  # costs are per-layer sums too (uncounted: left out)
        per_layer = [(layer, layer.macs * (2 if metric == "flops" else 1))
                     for layer in stats.model_layers if layer.cost is not None]
    smooth, approx = _smooth(expr)
    orders = _orders(smooth, gens)
    if orders and orders[0][1] == 0:
        orders = []
    if not any(deg > 0 for deg, _ in orders):
        raise UsageError(f"{metric} does not grow with {', '.join(names)}: it is {expr}")
    top_deg, top = orders[0]
    value, lead_value = stats.value(expr), stats.value(top)
    groups = []
    if per_layer is not None:
        parts: dict[str, sympy.Expr] = {}
        for layer, e in per_layer:
            if e == 0:
                continue
            key = kind_group(layer.kind) if group_by == "kind" else block_group(layer.path)
            parts[key] = parts.get(key, sympy.Integer(0)) + e
        for key, e in parts.items():
            s, _ = _smooth(e)
            g_orders = _orders(s, gens)
            g_lead = g_orders[0][1] if g_orders else sympy.Integer(0)
            g_top = next((t for d, t in g_orders if d == top_deg), sympy.Integer(0))
            v = stats.value(e)
            groups.append(Group(key, e, g_lead, v,
                                v / value if v is not None and value else None,
                                sympy.cancel(g_top / top)))
        groups.sort(key=lambda g: (-(g.value or 0), g.name))
    return LeadingResult(list(gens), metric, smooth, orders, approx, value, lead_value, groups)
