"""The symbolic difference between two models (or one model under two conventions),
layer by layer.

Each side is counted at its own values (its defaults, and ``--set`` applied to both).
A symbol both sides have with the same value (or with no value on either side) means
the same thing and stays one symbol in the difference; a symbol whose values differ is
two quantities, written ``h_A`` and ``h_B`` in the differences, so that the formula
of A − B is still right and evaluates to A's count at A's values minus B's at B's.

Layers are paired by structure (:func:`symparam.compare.pair_layers`), not by name: a
layer inserted in B is *added*, the layers after it still pair with theirs. Each
difference is kept as the expanded sum and in readable form (``-h*(n + 1)``).

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

from dataclasses import dataclass, field
from typing import Optional

import sympy

from ..exprs import add_up, as_expr
from ..compare import ROLES, difference, pair_layers
from ..stats import LayerStats, ModelStats

@dataclass(frozen=True)
class LayerDiff:
    """One entry of the difference: ``status`` is added (B only), removed (A only),
    changed or same (see :func:`symparam.compare.pair_layers`), ``changes`` what
    differs, ``delta`` A − B by role in readable form (the sign pulled out:
    ``-h*(n + 1)``), ``differences`` the same as :class:`~symparam.compare.Difference`
    (expanded and structured side by side)."""

    a: Optional[LayerStats]   # None: the layer exists in B only
    b: Optional[LayerStats]
    delta: dict               # role -> A - B, structured
    values: dict              # role -> int or None
    status: str = "same"
    changes: tuple = ()
    differences: dict = field(default_factory=dict)  # role -> Difference

    @property
    def name(self) -> str:
        if self.a and self.b and self.a.name != self.b.name:
            return f"{self.a.name} / {self.b.name}"
        return self.layer.name

    @property
    def layer(self) -> LayerStats:
        layer = self.a or self.b
        assert layer is not None  # a pair has at least one side
        return layer

    @property
    def kind(self) -> str:
        return self.layer.kind

    @property
    def changed(self) -> bool:
        return self.status != "same"


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
    # The totals in readable form (role -> Difference): the sign pulled out.
    differences: dict = field(default_factory=dict)

    @property
    def added(self) -> list:
        """The layers in B only."""
        return [ld for ld in self.layers if ld.status == "added"]

    @property
    def removed(self) -> list:
        """The layers in A only."""
        return [ld for ld in self.layers if ld.status == "removed"]


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


def diff(a: ModelStats, b: ModelStats) -> DiffResult:
    """A - B for every layer and in total, by role (params, trainable,
    non_trainable, buffers): each side at its own values, with the values of the
    difference where both sides' symbols have them."""
    rename_a, rename_b, values, split, renamed = _sides(a, b)
    layers = []
    by_kind: dict[tuple, list] = {}  # (kind, role) -> the layers' differences
    pairs = pair_layers([x for x in a.model_layers if x.kind != "input"],
                        [x for x in b.model_layers if x.kind != "input"],
                        types=a.convention == b.convention,
                        shapes=a.layout == b.layout, rename_a=rename_a,
                        rename_b=rename_b, values=values)
    for p in pairs:
        for role, d in p.delta.items():
            if not d.zero:
                by_kind.setdefault((p.layer.kind, role), []).append(d.structured)
        layers.append(LayerDiff(p.a, p.b, {r: d.structured for r, d in p.delta.items()},
                                {r: d.value for r, d in p.delta.items()}, p.status,
                                p.changes, p.delta))
    total = {}
    for r in ROLES:
        attr = r if r != "params" else "total"
        total[r] = sympy.expand(getattr(a, attr).xreplace(rename_a)
                                - getattr(b, attr).xreplace(rename_b))
    kinds = [(k, r, difference(add_up(parts), parts=parts).structured,
              _value(add_up(parts), values))
             for (k, r), parts in by_kind.items() if r != "params"]
    return DiffResult(a, b, layers, total, {r: _value(e, values) for r, e in total.items()},
                      kinds, split, renamed,
                      {r: difference(e, values, [p.delta[r].structured for p in pairs])
                       for r, e in total.items()})
