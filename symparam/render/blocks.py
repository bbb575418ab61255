"""A derivation by block, as a textbook explains a network: identical block instances
derived once with their multiplicity, the stages they make up, and the total as a sum
over the model's parts.

The layers of :class:`~symparam.stats.ModelStats` carry the path of block instances
and repeats they sit in (``('conv3', 'repeat 3', 'identity_block', 'bottleneck_1')``).
A **unit** is the outermost block instance on that path that has layers of its own
(ResNet's ``identity_block``, with its merge and its ReLU; GPT-2's ``h``); a block
instance above it with no layers of its own (ResNet's stage ``conv3``) is a **stage**.
Units of one block whose layers are equal (kind, arguments, input shapes, weights) are
one **group**, derived once with the number of copies (a repeat that is not unrolled
counts its copies in the multiplier); the groups of one block are shown together, one
column each. Runs of equal layers outside blocks (300 stride-2 convolutions) are one
part, derived once. Each layer kind's explanations are given once, where first
needed.

May import: sympy, :mod:`symparam.stats`, :mod:`symparam.graph`, :mod:`symparam.exprs`
and the render modules below it (:mod:`.facts`).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Optional

import sympy

from .. import graph as g
from ..exprs import add_up, as_expr
from ..stats import LayerStats, ModelStats
from .facts import LayerFacts, ModelFacts, TotalFacts, closed_form

_COPY = re.compile(r"_\d+$")  # the suffix of an automatic name, or of an unrolled copy


def _snake(name: str) -> str:
    """``BatchNormalization`` -> ``batch_normalization``, as Keras names layers."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _is_repeat(label: str) -> bool:
    return label.startswith("repeat")


def block_names(document) -> dict[str, str]:
    """The block each named call uses, by its ``as`` name: ``{'h': 'transformer_block'}``
    (automatic names are the block's own, with a number)."""
    out: dict[str, str] = {}

    def walk(steps) -> None:
        for step in steps:
            if isinstance(step, g.Call) and step.name:
                out.setdefault(step.name, step.block)
            for attr in ("body", "shortcut"):
                inner = getattr(step, attr, None)
                if isinstance(inner, tuple):
                    walk(inner)
            for branch in getattr(step, "branches", ()) or ():
                walk(branch)

    if isinstance(document, g.Graph):
        walk(document.model.body)
        for block in document.blocks.values():
            walk(block.body)
    return out


def _block_of(label: str, named: dict[str, str], blocks: dict) -> str:
    """The block an instance label belongs to: ``identity_block_2`` -> ``identity_block``."""
    name = label
    while True:
        if name in named:
            return named[name]
        if name in blocks:
            return name
        stripped = _COPY.sub("", name)
        if stripped == name:
            return label
        name = stripped


@dataclass(frozen=True)
class Group:
    """Equal instances of a block: ``copies`` of them (a symbol for a repeat that is
    not unrolled), each with the layers ``layers`` (their facts, counted per copy)."""

    label: str                       # the stage, or the instance's name
    instances: tuple[str, ...]       # each instance's path, 'conv3/identity_block'
    copies: sympy.Expr
    layers: tuple[LayerFacts, ...]   # one copy's layers with weights
    one: TotalFacts                  # one copy's parameters
    all: TotalFacts                  # copies x one copy
    input_shape: tuple
    output_shape: tuple

    @property
    def params(self) -> sympy.Expr:
        return self.all.expr


@dataclass(frozen=True)
class Row:
    """A layer of a block, as its table names it: its name in the first copy, class
    and line."""

    name: str
    type: str
    line: int
    kind: str = ""

    @property
    def label(self) -> str:
        """The name the file gives the layer (``attn``), else its class and line
        (``Conv2D (15)``): automatic names (``conv2d_4``) differ from copy to copy."""
        auto = _COPY.sub("", self.name)
        if auto == self.kind or auto == _snake(self.type):
            return f"{self.type} ({self.line})"
        return self.name


@dataclass(frozen=True)
class BlockFacts:
    """A block as the derivation explains it, with its groups of equal instances."""

    block: str
    line: int
    groups: tuple[Group, ...]
    rows: tuple[Row, ...]            # each layer with weights, in one copy
    # The layers whose kind is first met here: their explanations are given here.
    explained: tuple[LayerFacts, ...] = ()
    # Does the block have uses with other layers (a repeat of another length in it)?
    # Each such variant has its own table.
    variant: bool = False


@dataclass(frozen=True)
class Part:
    """One entry of the walk: a layer (``layer``), a run of ``count`` equal layers
    (``layer`` the first, ``last`` the last), or the first use of a block (``block``)."""

    what: str                        # "layer", "run" or "block"
    layer: Optional[LayerFacts] = None
    count: int = 1
    last: Optional[LayerFacts] = None
    block: Optional[BlockFacts] = None


@dataclass(frozen=True)
class SumRow:
    """A row of the table that adds the model up: a layer, a run of layers, or a stage
    (its blocks' instances), with its parameters."""

    label: str
    what: str
    params: sympy.Expr
    value: Optional[int]


@dataclass(frozen=True)
class BlockView:
    """The model by block: ``parts`` in the order of the walk, ``rows`` its sum
    (``total`` their sum, the model's total)."""

    parts: tuple[Part, ...]
    rows: tuple[SumRow, ...]
    total: TotalFacts
    has_blocks: bool


def _unit(path: tuple, direct: set, is_block) -> int:
    """How much of ``path`` names the layer's unit (0: it is in none)."""
    for k in range(1, len(path) + 1):
        if is_block(path[k - 1]) and path[:k] in direct:
            return k
    return 0


def _key(layer: LayerStats) -> tuple:
    """What makes two layers equal for a derivation: kind, arguments, shapes, weights."""
    return (layer.kind, tuple(sorted((k, repr(v)) for k, v in layer.args.items())),
            tuple(layer.input_shapes), tuple(layer.output_shape),
            tuple((w.name, tuple(w.shape), w.role) for w in layer.weights))


def _same_layer(a: LayerStats, b: LayerStats) -> bool:
    """Equal layers but for their shapes (a run of strided convolutions)."""
    ka, kb = _key(a), _key(b)
    return ka[0:2] == kb[0:2] and ka[4] == kb[4] and a.multiplier == b.multiplier


def _per_copy(f: LayerFacts, copies: sympy.Expr, stats: ModelStats) -> LayerFacts:
    """A layer's facts for one copy of its unit (a unit in a repeat over L: 1/L of them)."""
    if copies == 1:
        return f
    params = as_expr(f.params) / copies
    return dataclasses.replace(
        f, multiplier=as_expr(f.multiplier) / copies, params=params,
        trainable=as_expr(f.trainable) / copies,
        non_trainable=as_expr(f.non_trainable) / copies, buffers=as_expr(f.buffers) / copies,
        value=stats.value(params), at_values=stats.at(params))


def _total(stats: ModelStats, label: str, expr, parts=()) -> TotalFacts:
    expr = as_expr(expr)
    return TotalFacts(label, "params", expr, closed_form(expr),
                      tuple(stats.at(p) for p in parts), stats.value(expr), stats.at(expr))


def _all(stats: ModelStats, label: str, copies: sympy.Expr, per_copy) -> TotalFacts:
    """All copies of a block: the copies times one copy's closed form, not factored
    again (a long product would read no better)."""
    expr = copies * closed_form(per_copy)
    return TotalFacts(label, "params", expr, expr, (), stats.value(expr), stats.at(expr))


@dataclass
class _Unit:
    path: tuple
    block: str
    stage: str
    copies: sympy.Expr
    members: list
    kind: tuple = ()  # the block and its layers' structure: units of a kind share a table


def by_block(stats: ModelStats, facts: ModelFacts) -> BlockView:
    """The model's parts in the order of the walk, and its sum by part.

    >>> from symparam import analyze
    >>> from symparam.render.facts import model_facts
    >>> s = analyze("block b(u):\\n    dense u\\n    relu\\n"
    ...             "model m(n = 4, L = 3):\\n    input [n]\\n    repeat L:\\n        b n\\n")
    >>> v = by_block(s, model_facts(s, compare=False))
    >>> [(p.what, p.block.block, p.block.groups[0].copies) for p in v.parts]
    [('block', 'b', L)]
    >>> v.total.value
    60
    """
    shown = {id(f.layer) for f in facts.layers}
    layers = [f for f in facts.all_layers if f.layer.in_model]
    direct = {f.layer.path for f in layers}
    named = block_names(stats.document)
    blocks = stats.document.blocks if isinstance(stats.document, g.Graph) else {}
    units: dict[tuple, _Unit] = {}
    order: list = []  # ("layer", facts) or ("unit", _Unit), in the walk's order
    for f in layers:
        k = _unit(f.layer.path, direct, lambda label: not _is_repeat(label)
                  and _block_of(label, named, blocks) in blocks)
        if not k:
            order.append(("layer", f))
            continue
        path = f.layer.path[:k]
        if path not in units:
            units[path] = _Unit(path, _block_of(path[-1], named, blocks),
                                "/".join(p for p in path[:-1] if not _is_repeat(p))
                                or path[-1], sympy.Integer(1), [])
            order.append(("unit", units[path]))
        units[path].members.append(f)
    # Units of one block with equal layers (structure and values), in one stage, are
    # one group; the groups of a block are shown together.
    groups: dict[tuple, list[_Unit]] = {}
    kinds: dict[tuple, list[tuple]] = {}
    for unit in units.values():
        unit.copies = as_expr(next(f.layer.multiplier for f in unit.members
                                   if f.layer.path == unit.path))
        depth = len(unit.path)
        structure = tuple((tuple(_block_of(p, named, blocks) for p in f.layer.path[depth:]),
                           f.layer.line, f.layer.column) for f in unit.members)
        key = (unit.block, unit.stage, structure, tuple(_key(f.layer) for f in unit.members))
        if key not in groups:  # the uses of one block with the same layers share a table
            kinds.setdefault((unit.block, structure), []).append(key)
        groups.setdefault(key, []).append(unit)
        unit.kind = (unit.block, structure)
    unit_key = {id(u): key for key, us in groups.items() for u in us}
    return _Walk(stats, blocks).view(order, groups, kinds, unit_key, shown)


class _Walk:
    """The parts and sum rows, built in the walk's order; each kind explained once."""

    def __init__(self, stats: ModelStats, blocks: dict):
        self.stats, self.blocks = stats, blocks
        self.said: set = set()

    def fresh(self, f: LayerFacts) -> LayerFacts:
        """A layer's facts with the explanations already given left out."""
        if f.layer.kind in self.said:
            other = None if f.other is None else dataclasses.replace(f.other, reasons=())
            return dataclasses.replace(f, notes=(), other=other)
        self.said.add(f.layer.kind)
        return f

    def group(self, units: list) -> Group:
        stats = self.stats
        first = units[0]
        members = [_per_copy(f, first.copies, stats) for f in first.members]
        weighted = tuple(f for f in members if f.weights)
        per_copy = add_up(f.params for f in weighted)
        copies = add_up(u.copies for u in units)
        return Group(first.stage, tuple("/".join(p for p in u.path if not _is_repeat(p))
                                        for u in units), copies, weighted,
                     _total(stats, first.block, per_copy, [f.params for f in weighted]),
                     _all(stats, first.block, copies, per_copy),
                     tuple(members[0].input_shapes[0]) if members[0].input_shapes else (),
                     tuple(members[-1].output_shape))

    def block(self, name: str, keys: list, groups: dict, variant: bool) -> BlockFacts:
        made = tuple(self.group(groups[key]) for key in keys)
        explained = []
        for f in made[0].layers:
            if f.layer.kind not in self.said and (f.notes or f.other or f.shape):
                explained.append(f)
            self.said.add(f.layer.kind)
        rows = tuple(Row(f.name.rsplit("/", 1)[-1], f.type, f.line, f.kind)
                     for f in made[0].layers)
        line = getattr(self.blocks.get(name), "line", 0) or 0
        return BlockFacts(name, line, made, rows, tuple(explained), variant)

    def view(self, order: list, groups: dict, kinds: dict, unit_key: dict,
             shown: set) -> BlockView:
        stats = self.stats
        parts: list[Part] = []
        rows: list[SumRow] = []
        done: set = set()
        i = 0
        while i < len(order):
            what, item = order[i]
            if what == "layer":
                j = i + 1
                while (j < len(order) and order[j][0] == "layer" and item.weights
                       and _same_layer(order[j][1].layer, item.layer)):
                    j += 1
                if id(item.layer) in shown or j - i > 1:
                    run = j - i > 1
                    parts.append(Part("run" if run else "layer", self.fresh(item), j - i,
                                      order[j - 1][1] if run else None))
                    params = add_up(order[k][1].params for k in range(i, j))
                    if params != 0:
                        rows.append(SumRow(
                            f"{item.name} ... {order[j - 1][1].name}" if run else item.name,
                            f"{j - i} x {item.type}" if run else item.type, params,
                            stats.value(params)))
                i = j
                continue
            key = unit_key[id(item)]
            if item.kind not in done:
                done.add(item.kind)
                variant = sum(1 for k in kinds if k[0] == item.block) > 1
                parts.append(Part("block", block=self.block(item.block, kinds[item.kind],
                                                            groups, variant)))
            params = add_up(f.params for f in item.members)
            copies = item.copies
            name = item.block if copies == 1 else f"{_count(copies)} {item.block}"
            if rows and rows[-1].label == item.stage and key[1] == item.stage \
                    and item.stage != item.path[-1]:
                last = rows[-1]
                rows[-1] = SumRow(last.label, f"{last.what} + {name}", last.params + params,
                                  stats.value(last.params + params))
            else:
                rows.append(SumRow(item.stage, name, params, stats.value(params)))
            i += 1
        total = _total(stats, "Total params", add_up(r.params for r in rows),
                       [r.params for r in rows])
        return BlockView(tuple(parts), tuple(rows), total, bool(groups))


def _count(copies: sympy.Expr) -> str:
    return str(copies) if copies.is_Integer or copies.is_Symbol else f"({copies})"
