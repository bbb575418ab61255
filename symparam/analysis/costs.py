"""Costs of a forward pass per layer and in total: data for the ``cost`` command,
and its text and JSON.

The arithmetic itself is each layer kind's (``LayerKind.cost``); the conventions are
:class:`symparam.costs.FlopConvention`'s. ``per`` divides every figure by a symbol,
``per="n_ctx"`` turns a per-example cost into a per-token one.

>>> from symparam import analyze
>>> s = analyze("model m(T = 8, n = 4, h = 2):\\n    input [T, n]\\n    dense h\\n")
>>> r = cost_report(s, per="T")
>>> r.macs, r.flops, r.value(r.flops)
(h*n, 2*h*n, 16)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import sympy

from ..exprs import as_expr
from ..costs import PARTS, FlopConvention, total
from ..errors import UsageError
from ..layers.base import closest
from ..render.data import count, head
from ..render.fmt import formula, number
from ..render.text import table
from ..stats import ModelStats


@dataclass(frozen=True)
class CostRow:
    name: str
    kind: str
    multiplier: sympy.Expr
    parts: Optional[dict]   # part name -> expression; None: the kind states no cost
    flops: Optional[sympy.Expr]


@dataclass(frozen=True)
class CostReport:
    stats: ModelStats
    convention: FlopConvention
    per: Optional[sympy.Symbol]
    rows: tuple
    parts: dict              # totals by part
    macs: sympy.Expr
    flops: sympy.Expr
    uncounted: tuple
    left_out: tuple = ()     # layers the convention does not count (vocabulary heads)

    def value(self, expr):
        """The exact value at the values in effect: an int, a sympy Rational (a figure
        per ``per`` need not be whole), or None while a symbol has no value."""
        v = self.stats.at(expr)
        if v.is_Integer:
            return int(v)
        return v if v.is_Rational else None


def _per_symbol(stats: ModelStats, per: Optional[str]) -> Optional[sympy.Symbol]:
    if per is None:
        return None
    known = {s.name: s for s in stats.symbols}
    if per not in known:
        hint = closest(per, list(known), 1)
        raise UsageError(f"--per: model {stats.name} has no symbol '{per}'"
                         + (f" (did you mean '{hint[0]}'?)" if hint else "")
                         + f"; its symbols: {', '.join(known) or 'none'}")
    return known[per]


def _parts(cost, convention: FlopConvention, scale) -> dict:
    """A cost's parts as the convention counts them: the MACs include the scores a mask
    hides when the convention counts the full products (``masks`` false)."""
    parts = {p: getattr(cost, p) for p in PARTS}
    if not convention.masks:
        parts["macs"] = as_expr(parts["macs"]) + cost.masked
        parts["activations"] = as_expr(parts["activations"]) + cost.masked_activations
    return {p: scale(e) for p, e in parts.items()}


def cost_report(stats: ModelStats, convention: Optional[FlopConvention] = None,
                per: Optional[str] = None) -> CostReport:
    """Every layer's cost and the totals under ``convention``, divided by ``per``."""
    convention = convention or FlopConvention()
    sym = _per_symbol(stats, per)

    def scale(e):
        e = as_expr(e)
        return e if sym is None else sympy.expand(e / sym)

    left_out: tuple = ()
    if not convention.vocabulary_heads:
        from .metrics import embedding_params
        left_out = embedding_params(stats).heads
    rows, kept = [], []
    for layer in stats.model_layers:  # the layers in the model, as its totals
        if layer.kind == "input" or layer.name in left_out:
            continue
        cost = layer.cost
        kept.append(cost)
        parts = None if cost is None else _parts(cost, convention, scale)
        flops = None if cost is None else scale(convention.flops(cost))
        rows.append(CostRow(layer.name, layer.kind, layer.runs, parts, flops))
    whole = stats.cost if not left_out else total(c for c in kept if c is not None)
    totals = {p: sympy.expand(e) for p, e in _parts(whole, convention, scale).items()}
    return CostReport(stats, convention, sym, tuple(rows), totals, totals["macs"],
                      sympy.expand(scale(convention.flops(whole))), stats.uncounted,
                      left_out)


def _exact(v) -> str:
    """``1,234`` or an exact fraction ``8,197/16``; never rounded."""
    if isinstance(v, int):
        return number(v)
    return f"{number(v.p)}/{number(v.q)}"


def _cell(report: CostReport, expr) -> str:
    v = report.value(expr)
    return _exact(v) if v is not None else ""


def cost_text(report: CostReport) -> str:
    """The table the ``cost`` command prints."""
    s, conv = report.stats, report.convention
    what = "per example" if report.per is None else f"per example / {report.per}"
    lines = [f"model {s.name} (convention {s.convention}): forward pass, {what}",
             f"FLOPs: {conv.describe()}", ""]
    numbers = report.value(report.flops) is not None  # every symbol has a value
    # When every layer's FLOPs are a fixed multiple of its MACs, that column repeats the
    # MACs formula: it is said once above the table instead (a ResNet's table halves).
    factor = sympy.Integer(conv.flops_per_mac * (conv.backward_factor if conv.backward else 1))
    proportional = all(r.parts is None or sympy.expand(r.flops - factor * r.parts["macs"]) == 0
                       for r in report.rows)
    if proportional:
        lines.insert(2, f"every layer's FLOPs = {factor} x its MACs")
    rows = []
    for r in report.rows:
        name = r.name + (f" (×{formula(r.multiplier)})" if r.multiplier != 1 else "")
        formulas = [formula(r.parts["macs"])] if r.parts is not None else ["not counted"]
        if not proportional:
            formulas.append(formula(r.flops) if r.parts is not None else "")
        if r.parts is None:
            rows.append([name, r.kind, *formulas] + (["", ""] if numbers else []))
            continue
        cells = [name, r.kind, *formulas]
        if numbers:
            cells += [_cell(report, r.parts["macs"]), _cell(report, r.flops)]
        rows.append(cells)
    header = ["layer", "kind", "MACs (formula)"] + ([] if proportional else ["FLOPs (formula)"])
    lines += table(header + (["MACs", "FLOPs"] if numbers else []), rows)
    lines.append("")
    for label, expr in (("MACs", report.macs), ("FLOPs", report.flops)):
        v = report.value(expr)
        lines.append(f"{label:<6} {formula(expr)}" + (f" = {_exact(v)}" if v is not None
                                                      and not expr.is_Integer else ""))
    for part, label in (("bias", "bias additions"), ("activations", "activations"),
                        ("elementwise", "element-wise ops")):
        expr = report.parts[part]
        if expr != 0:
            v = report.value(expr)
            state = "counted" if getattr(conv, part) else "not counted"
            lines.append(f"  {label} ({state}): {formula(expr)}"
                         + (f" = {_exact(v)}" if v is not None and not expr.is_Integer else ""))
    if report.uncounted:
        lines.append(f"not counted (their kinds state no cost): {', '.join(report.uncounted)}")
    if report.left_out:
        lines.append(f"left out by the convention (the projection onto the vocabulary): "
                     f"{', '.join(report.left_out)}")
    return "\n".join(lines)


def _compared(a: CostReport, b: CostReport) -> list:
    """(layer, a's FLOPs, b's FLOPs) for every layer whose FLOPs the two conventions
    count differently (None: left out or not counted)."""
    fa = {r.name: r.flops for r in a.rows}
    fb = {r.name: r.flops for r in b.rows}
    names = [r.name for r in a.rows] + [n for n in fb if n not in fa]
    out = []
    for name in names:
        x, y = fa.get(name), fb.get(name)
        if x is None or y is None or sympy.expand(x - y) != 0:
            out.append((name, x, y))
    return out


def preset_diff_text(a: CostReport, b: CostReport, names: tuple[str, str]) -> str:
    """``cost --preset A --against B``: the two conventions, the layers they count
    differently, and the difference of the totals."""
    s = a.stats
    what = "per example" if a.per is None else f"per example / {a.per}"
    first, second = names
    lines = [f"model {s.name} (convention {s.convention}): FLOPs, {what}, {first} against "
             f"{second}", f" {first}: {a.convention.describe()}",
             f" {second}: {b.convention.describe()}", ""]

    def cell(report, expr):
        if expr is None:
            return "left out"
        v = report.value(expr)
        return formula(expr) + (f" = {_exact(v)}" if v is not None and not
                                as_expr(expr).is_Integer else "")

    rows = [[name, cell(a, x), cell(b, y),
             cell(a, sympy.expand((y if y is not None else 0) - (x if x is not None else 0)))]
            for name, x, y in _compared(a, b)]
    if rows:
        lines += table(["layer", first, second, f"{second} - {first}"], rows)
    else:
        lines.append("every layer's FLOPs are the same under both")
    lines += ["", f"FLOPs  {first}: {cell(a, a.flops)}", f"       {second}: {cell(b, b.flops)}",
              f"       {second} - {first}: {cell(a, sympy.expand(b.flops - a.flops))}"]
    return "\n".join(lines)


def _json_expr(report: CostReport, expr) -> dict:
    v = report.value(expr) if expr is not None else None
    if v is not None and not isinstance(v, int):
        v = f"{v.p}/{v.q}"  # exact, as text: JSON has no fractions
    return {"formula": formula(expr) if expr is not None else None, "value": v}


def cost_dict(report: CostReport) -> dict:
    """The report as JSON-ready data: formulas as text, values as integers (an exact
    fraction as the text ``"p/q"`` when ``per`` leaves one)."""
    conv = report.convention
    layers = []
    for r in report.rows:
        item = {"name": r.name, "kind": r.kind,
                "multiplier": count(report.stats, r.multiplier),
                "counted": r.parts is not None}
        if r.parts is not None:
            item.update({p: _json_expr(report, e) for p, e in r.parts.items()})
            item["flops"] = _json_expr(report, r.flops)
        layers.append(item)
    return {**head(report.stats, "cost"),
            "per": str(report.per) if report.per is not None else None,
            "flop_convention": {**conv.as_dict(), "text": conv.describe()},
            "layers": layers,
            "total": {**{p: _json_expr(report, e) for p, e in report.parts.items()},
                      "flops": _json_expr(report, report.flops)},
            "uncounted": list(report.uncounted), "left_out": list(report.left_out)}


def cost_json(report: CostReport) -> str:
    return json.dumps(cost_dict(report), indent=2, ensure_ascii=False)
