"""Which layers reach the model's output, and which the convention leaves out.

A model's output is the tensor its body ends with. A layer from which no path leads to
it (``dense 8 as unused`` then ``from x``) is not part of a Keras model:
``keras.Model(inputs, outputs).count_params()`` leaves it out. PyTorch counts every
module registered in ``__init__``, used or not. Both conventions name the layers Keras
leaves out (``ModelStats.unreached``); Keras's also marks them ``in_model = False``, so
its totals, costs and memory leave them out. (An unreached layer whose weights a reached
one shares, by ``tie`` or ``reuse``, is in the Keras model through it. A ``param`` is
a weight of the model, counted used or not, as Keras counts a weight ``add_weight``
made: a relative-position-bias table feeds attention's scores, not a merge.)

>>> from symparam import analyze
>>> src = "model m(n = 8):\\n    input [n] as x\\n    dense 8 as unused\\n    from x\\n    dense 2\\n"
>>> keras, torch = analyze(src), analyze(src, convention="torch")
>>> keras.unreached, keras.value(keras.total), torch.value(torch.total)
(('unused',), 18, 90)
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from . import conventions
from .stats import LayerStats


def reaching(layers: Sequence[LayerStats], output: str) -> set[str]:
    """The names of the layers (and inputs) some path leads from to ``output``."""
    by_name = {layer.name: layer for layer in layers}
    seen: set[str] = set()
    todo = [output]
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo.extend(by_name[name].inputs)
    return seen


def mark_unreached(layers: Sequence[LayerStats], output: str,
                   convention) -> tuple[tuple[LayerStats, ...], tuple[str, ...]]:
    """The layers, those Keras leaves out marked (in a convention that does not count
    them, as Keras's), and their names (in every convention). Inputs hold no weights
    and are not named. ``convention``: a Convention or its name."""
    reached = reaching(layers, output)
    # A layer whose weight a reached layer shares (tie, or reuse of it) is in the Keras
    # model through that layer: its weights count, once, where they were made.
    owners = {w.shared_with.rsplit("/", 1)[0] for layer in layers if layer.name in reached
              for w in layer.weights if w.shared_with}
    out = tuple(layer.name for layer in layers if layer.name not in reached
                and layer.name not in owners and layer.kind not in ("input", "param"))
    if conventions.get(convention).counts_unreached or not out:
        return tuple(layers), out
    return tuple(replace(layer, in_model=False) if layer.name in out else layer
                 for layer in layers), out
