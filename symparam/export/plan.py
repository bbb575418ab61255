"""The shape of an exported model, the same for every framework: its layers in order,
the rolled repeats as loops (:class:`Loop`), and what each layer shares.

symparam keeps a repeat over a symbol rolled up: its body's layers appear once, with
the repeat in their ``path``. A framework needs every copy, so the code loops over
the body; the loop's first layer reads the tensor before the repeat (the *entry*), and
each pass after the first reads the body's last output instead.

>>> import symparam
>>> s = symparam.analyze("model m(N = 3):\\n    input [4]\\n    repeat N:\\n        dense 4\\n")
>>> [type(i).__name__ for i in plan(s).items], plan(s).items[1].count
(['Step', 'Loop'], N)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

import sympy

from ..errors import SourceError
from ..formulas import read
from ..layers.base import SHARED
from ..stats import LayerStats, ModelStats


@dataclass(frozen=True)
class Step:
    """One layer. ``reuses``: the layer whose module it applies again (every weight
    shared with that one layer of the same kind); ``ties``: weight -> "layer/weight"
    for a layer with a module of its own whose named weights are another's."""

    layer: LayerStats
    reuses: Optional[str] = None
    ties: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Loop:
    """A rolled repeat: ``count`` passes over ``items``; ``entry`` is the tensor the
    first pass reads, ``exit`` the layer whose output the next pass reads."""

    count: sympy.Expr
    label: str
    items: tuple[Union[Step, "Loop"], ...]
    entry: str
    exit: str

    def steps(self):
        for item in self.items:
            yield from (item.steps() if isinstance(item, Loop) else (item,))


@dataclass(frozen=True)
class Plan:
    stats: ModelStats
    items: tuple[Union[Step, Loop], ...]

    def steps(self):
        for item in self.items:
            yield from (item.steps() if isinstance(item, Loop) else (item,))


def _frames(layer: LayerStats) -> list[tuple[str, ...]]:
    return [layer.path[:i + 1] for i, p in enumerate(layer.path) if p.startswith("repeat ")]


def _edge(items: list, last: bool) -> LayerStats:
    item = items[-1] if last else items[0]
    return item.layer if isinstance(item, Step) else _edge(list(item.items), last)


def _step(layer: LayerStats, kinds: dict) -> Step:
    shared = {w.name: w.shared_with for w in layer.weights if w.role == SHARED}
    kinds[layer.name] = layer.kind
    if not shared:
        return Step(layer)
    owners = {v.split("/", 1)[0] for v in shared.values()}
    if len(owners) == 1 and len(shared) == len(layer.weights):
        owner = next(iter(owners))
        if kinds.get(owner) == layer.kind and all(
                k == v.split("/", 1)[1] for k, v in shared.items()):
            return Step(layer, reuses=owner)
    return Step(layer, ties=tuple(sorted(shared.items())))


def _group(layers: list, level: int, stats: ModelStats, kinds: dict) -> tuple:
    items: list = []
    i = 0
    while i < len(layers):
        frames = _frames(layers[i])
        if len(frames) <= level:
            items.append(_step(layers[i], kinds))
            i += 1
            continue
        key, j = frames[level], i
        while j < len(layers) and len(_frames(layers[j])) > level \
                and _frames(layers[j])[level] == key:
            j += 1
        label = key[-1]
        try:
            count = read(label[len("repeat "):], [str(s) for s in stats.symbols])
        except Exception:  # a count symparam printed but cannot read back
            raise SourceError(f"cannot export the repeat '{label}'",
                              layers[i].line) from None
        body = list(_group(layers[i:j], level + 1, stats, kinds))
        items.append(Loop(count, label, tuple(body), _edge(body, False).inputs[0],
                          _edge(body, True).name))
        i = j
    return tuple(items)


def plan(stats: ModelStats) -> Plan:
    """The layers of ``stats`` (those in the model) as steps and loops."""
    return Plan(stats, _group(list(stats.layers), 0, stats, {}))
