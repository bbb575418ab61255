"""The symbolic difference between two models (or one model under two conventions),
layer by layer.

Each side is counted at its own values (its defaults, and ``--set`` applied to both).
A symbol both sides have with the same value (or with no value on either side) means
the same thing and stays one symbol in the difference; a symbol whose values differ is
two quantities, written ``h_A`` and ``h_B`` in the differences, so that the formula
of A − B is still right and evaluates to A's count at A's values minus B's at B's.

>>> from symparam import analyze
>>> src = "model m(n = 4, h = 2):\\n    input [n]\\n    dense h\\n    batchnorm\\n"
>>> d = diff(analyze(src, convention="keras"), analyze(src, convention="torch"))
>>> d.total["params"], d.total["buffers"], d.values["params"]
(2*h, -2*h - 1, 4)
>>> d = diff(analyze(src), analyze(src.replace("h = 2", "h = 3")))
>>> d.total["params"], d.values["params"], d.split
(h_A*n + 5*h_A - h_B*n - 5*h_B, -9, [(h, 2, 3)])
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
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
    # Symbols whose values differ between the sides: (symbol, value in A, value in B);
    # the differences write them as symbol_A and symbol_B (see :attr:`renamed`).
    split: list = field(default_factory=list)
    renamed: dict = field(default_factory=dict)  # symbol -> (its A name, its B name)


def _renamed(s: sympy.Symbol, side: str, taken: set) -> sympy.Symbol:
    name = f"{s.name}_{side}"
    while name in taken:  # a model that already has h_A: h_A_A
        name += f"_{side}"
    taken.add(name)
    return sympy.Symbol(name, **s.assumptions0)


def _sides(a: ModelStats, b: ModelStats):
    """The renaming of each side's symbols and the values of the difference's symbols:
    a symbol keeps its name where both sides agree on its value (or neither has one),
    and becomes ``s_A`` and ``s_B`` where they differ."""
    taken = {s.name for s in (*a.symbols, *b.symbols)}
    rename_a, rename_b, values, split, renamed = {}, {}, {}, [], {}
    for s in dict.fromkeys((*a.symbols, *b.symbols)):
        va, vb = a.values.get(s), b.values.get(s)
        if s in a.symbols and s in b.symbols and va != vb:
            rename_a[s], rename_b[s] = _renamed(s, "A", taken), _renamed(s, "B", taken)
            renamed[s] = (rename_a[s], rename_b[s])
            values.update({k: v for k, v in ((rename_a[s], va), (rename_b[s], vb))
                           if v is not None})
            split.append((s, va, vb))
        elif (v := va if va is not None else vb) is not None:
            values[s] = v
    return rename_a, rename_b, values, split, renamed


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
    non_trainable, buffers): each side at its own values, with the values of the
    difference where both sides' symbols have them."""
    rename_a, rename_b, values, split, renamed = _sides(a, b)
    zero = sympy.Integer(0)

    def side(layer, role, rename):
        return getattr(layer, role).xreplace(rename) if layer else zero

    split_names = {*rename_a.values(), *rename_b.values()}
    layers = []
    by_kind: dict[tuple, sympy.Expr] = {}
    for x, y in _pairs(a, b):
        delta = {}
        for role in ROLES:
            d = sympy.expand(side(x, role, rename_a) - side(y, role, rename_b))
            if d != 0 and d.free_symbols & split_names:
                d = sympy.factor(d)  # one layer's (h_A - h_B)*(n + 1): small, so cheap
            delta[role] = structured(list(sympy.Add.make_args(d))) if d != 0 else d
            if d != 0:
                key = ((x or y).kind, role)
                by_kind[key] = by_kind.get(key, zero) + d
        layers.append(LayerDiff(x, y, delta, {r: _value(e, values) for r, e in delta.items()}))
    total = {}
    for r in ROLES:
        attr = r if r != "params" else "total"
        total[r] = sympy.expand(getattr(a, attr).xreplace(rename_a)
                                - getattr(b, attr).xreplace(rename_b))
    kinds = [(k, r, e, _value(e, values)) for (k, r), e in by_kind.items() if r != "params"]
    return DiffResult(a, b, layers, total, {r: _value(e, values) for r, e in total.items()},
                      kinds, split, renamed)
