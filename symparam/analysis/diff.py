"""The symbolic difference between two models (or one model under two conventions),
layer by layer.

>>> from symparam import analyze
>>> src = "model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n    batchnorm\\n"
>>> d = diff(analyze(src, convention="keras"), analyze(src, convention="torch"))
>>> d.total["params"], d.total["buffers"], d.values["params"]
(2*h, -2*h - 1, 4)
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Optional

import sympy

from ..exprs import as_expr
from ..stats import LayerStats, ModelStats, structured

ROLES = ("params", "trainable", "non_trainable", "buffers")


@dataclass(frozen=True)
class LayerDiff:
    a: Optional[LayerStats]   # None: the layer exists in B only
    b: Optional[LayerStats]
    delta: dict               # role -> A - B, structured
    values: dict              # role -> int or None

    @property
    def name(self) -> str:
        if self.a and self.b and self.a.name != self.b.name:
            return f"{self.a.name} / {self.b.name}"
        return (self.a or self.b).name

    @property
    def kind(self) -> str:
        return (self.a or self.b).kind

    @property
    def changed(self) -> bool:
        return any(v != 0 for v in self.delta.values())


@dataclass(frozen=True)
class DiffResult:
    a: ModelStats
    b: ModelStats
    layers: list              # LayerDiff in model order
    total: dict               # role -> A - B, expanded
    values: dict              # role -> int or None
    by_kind: list             # (kind, role, delta expr, value), nonzero only


def _values(a: ModelStats, b: ModelStats) -> dict:
    """Symbol values for the difference: both sides' values where they agree."""
    out = dict(b.values)
    for s, v in a.values.items():
        if s in out and out[s] != v:
            del out[s]
        else:
            out[s] = v
    return out


def _value(expr, values) -> Optional[int]:
    v = as_expr(expr).xreplace(values)
    return int(v) if v.is_Integer else None


def _pairs(a: ModelStats, b: ModelStats):
    la = [x for x in a.model_layers if x.kind != "input"]
    lb = [x for x in b.model_layers if x.kind != "input"]
    # Same names (one model, two conventions): pair by name. Otherwise align the
    # sequences of layer kinds, as diff aligns lines.
    if [x.name for x in la] == [x.name for x in lb]:
        return list(zip(la, lb))
    by_a, by_b = {x.name: x for x in la}, {x.name: x for x in lb}
    if a.name == b.name and (by_a.keys() <= by_b.keys() or by_b.keys() <= by_a.keys()):
        # One model, and one convention leaves layers out (Keras: those that do not
        # reach the output): by name still, the others alone.
        longer = la if len(la) >= len(lb) else lb
        return [(by_a.get(x.name), by_b.get(x.name)) for x in longer]
    out = []
    matcher = difflib.SequenceMatcher(a=[x.kind for x in la], b=[x.kind for x in lb],
                                      autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        xs, ys = la[i1:i2], lb[j1:j2]
        if op in ("equal", "replace"):
            n = min(len(xs), len(ys))
            out += list(zip(xs[:n], ys[:n]))
            xs, ys = xs[n:], ys[n:]
        out += [(x, None) for x in xs] + [(None, y) for y in ys]
    return out


def diff(a: ModelStats, b: ModelStats) -> DiffResult:
    """A - B for every layer and in total, by role (params, trainable,
    non_trainable, buffers), with values where both sides' symbols have them."""
    values = _values(a, b)
    zero = sympy.Integer(0)
    layers = []
    by_kind: dict[tuple, sympy.Expr] = {}
    for x, y in _pairs(a, b):
        delta = {}
        for role in ROLES:
            d = sympy.expand((getattr(x, role) if x else zero) - (getattr(y, role) if y else zero))
            delta[role] = structured(list(sympy.Add.make_args(d))) if d != 0 else d
            if d != 0:
                key = ((x or y).kind, role)
                by_kind[key] = by_kind.get(key, zero) + d
        layers.append(LayerDiff(x, y, delta, {r: _value(e, values) for r, e in delta.items()}))
    total = {r: sympy.expand(getattr(a, r if r != "params" else "total")
                             - getattr(b, r if r != "params" else "total")) for r in ROLES}
    kinds = [(k, r, e, _value(e, values)) for (k, r), e in by_kind.items() if r != "params"]
    return DiffResult(a, b, layers, total, {r: _value(e, values) for r, e in total.items()},
                      kinds)
