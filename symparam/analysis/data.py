"""The analysis commands' results as plain data for ``--json`` (the text forms are in
:mod:`.report`).

Every document has the same head as ``count --json`` (:func:`symparam.render.data.head`:
``schema``, ``command``, ``model``, ``convention``, ``symbols``), and every formula is
a *count*, ``{"formula": STR, "value": INT or null}`` (see ``docs/cli.md``, "JSON
output"). Nothing here computes: it lays out what :mod:`.solve`, :mod:`.leading`,
:mod:`.memory` and :mod:`.sweep` found.
"""
from __future__ import annotations

import json
from typing import Iterator, Optional, Sequence

import sympy

from ..render.data import count, head
from ..render.fmt import formula
from ..stats import ModelStats


def _fixed(fixed: dict) -> dict:
    """Symbols held fixed: a number, or the formula of a default that follows others."""
    return {str(k): (int(v) if getattr(v, "is_Integer", isinstance(v, int)) else formula(v))
            for k, v in fixed.items()}


def _number(v) -> Optional[object]:
    """An exact number for JSON: an int, an exact fraction as the text ``"p/q"``."""
    if v is None:
        return None
    v = sympy.Rational(v)
    return int(v) if v.q == 1 else f"{v.p}/{v.q}"


def solve_dict(r, stats: ModelStats) -> dict:
    """``solve``'s result: the equation, its exact roots, where a step function
    crosses the target, and the nearest admissible values with their exact metric."""
    x = r.symbol
    roots = [{"formula": formula(root), "approx": float(sympy.N(root, 17))}
             for root in r.roots]
    crossings = None
    if r.crossings:
        c = r.crossings
        crossings = {"scanned": bool(c.scanned), "total": c.total,
                     "found": [{"from": lo, "to": hi, "equal": bool(hit)}
                               for lo, hi, hit in c.found]}
    shown = list(dict.fromkeys(c.description for c in r.conditions if c.kind == "holds"
                               or (c.kind == "size" and not c.expr.is_integer)))
    return {**head(stats, "solve"),
            "for": str(x), "metric": r.metric, "target": r.target,
            "equation": formula(r.equation), "fixed": _fixed(r.fixed),
            "roots": roots, "crossings": crossings, "admissible": shown,
            "refused": [{"value": n, "reason": why} for n, why in r.refused],
            "recounted": r.recounted,
            "candidates": [{"value": c.value, "metric": c.metric, "side": c.side,
                            "difference": c.metric - r.target} for c in r.candidates]}


def leading_dict(r, stats: ModelStats) -> dict:
    """``leading``'s result: the metric's terms by degree, the leading term, and each
    layer group's share."""
    def share(v):
        return None if v is None else float(v)
    return {**head(stats, "leading"),
            "in": [str(s) for s in r.symbols], "metric": r.metric,
            "formula": formula(r.expr), "approximated": r.approximated,
            "orders": [{"degree": deg, "terms": formula(terms),
                        **({"between": [formula(b) for b in r.bounds[deg]]}
                           if deg in r.bounds else {})}
                       for deg, terms in r.orders],
            "errors": [{"symbol": str(eps), "definition": formula(d)} for eps, d in r.errors],
            "leading": {"formula": formula(r.orders[0][1]), "value": r.leading_value},
            "value": r.value,
            "groups": [{"name": g.name, "formula": formula(g.expr),
                        "leading": formula(g.leading), "value": g.value,
                        "share": share(g.share), "limit_share": formula(g.limit_share)}
                       for g in r.groups]}


def memory_dict(stats: ModelStats, dtypes: Sequence[str], training, activations,
                kv) -> dict:
    """``memory``'s result: parameter bytes per dtype, training state, activations,
    the KV cache (empty layers for a model without causal attention)."""
    from .memory import dtype_bytes

    return {**head(stats, "memory"),
            "parameters": [{"dtype": dt, "bytes_per_value": _number(dtype_bytes(dt)),
                            "bytes": count(stats, dtype_bytes(dt) * stats.total)}
                           for dt in dtypes],
            "training": {"optimizer": training.optimizer, "precision": training.precision,
                         "devices": training.devices, "zero": training.zero,
                         "bytes_per_parameter": _number(training.bytes_per_parameter),
                         "parts": [{"part": name, "bytes_per_value": _number(nb),
                                    "count": count(stats, n), "bytes": count(stats, e)}
                                   for name, nb, n, e in training.parts],
                         "total": count(stats, training.total)},
            "activations": {"bytes_per_value": _number(activations.bytes_per_value),
                            "batch": count(stats, activations.batch),
                            "total": count(stats, activations.total),
                            "layers": [{"name": name, "bytes": count(stats, e)}
                                       for name, e in activations.per_layer]},
            "kv_cache": {"bytes_per_value": _number(kv.bytes_per_value),
                         "batch": count(stats, kv.batch),
                         "per_token": count(stats, kv.per_token),
                         "total": count(stats, kv.total),
                         "layers": [{"name": name, "multiplier": count(stats, mult),
                                     "steps": count(stats, steps),
                                     "numbers_per_step": count(stats, width),
                                     "bytes": count(stats, e)}
                                    for name, mult, steps, width, e in kv.per_layer]}}


def sweep_json(result, stats: ModelStats) -> Iterator[str]:
    """``sweep --json``: the head, what was held fixed, the metrics' formulas, then the
    rows (as ``--format json`` prints them), streamed piece by piece."""
    from .admissible import message
    from .report import sweep_lines

    meta = {**head(stats, "sweep"), "grid": list(result.grid),
            "metrics": list(result.metrics), "fixed": _fixed(result.fixed),
            "formulas": {m: formula(f.expr) for m, f in result.formulas.items()},
            "arithmetic": dict(result.modes),
            "broken": [{"condition": message(c), "points": int((~mask).sum())}
                       for c, mask in result.broken],
            "points": result.size}
    text = json.dumps(meta, indent=2, ensure_ascii=False)
    yield text[:-2] + ',\n  "rows": '  # the object stays open for the rows
    yield from sweep_lines(result, "json")
    yield "}"

