"""The shape rule a derivation shows for a layer: the one its kind states
(:meth:`symparam.layers.base.LayerKind.shape_rule`), when it has a formula to show.
The rules and their formulas live with the kinds (``layers/rules.py`` for the data,
``layers/conv.py`` for the window lengths, ``layers/core.py`` for flatten); this
module only finds a layer's kind and asks it.
"""
from __future__ import annotations

from typing import Optional

from ..layers import lookup
from ..layers.rules import AxisStep, ShapeRule
from ..stats import LayerStats

__all__ = ["AxisStep", "ShapeRule", "shape_rule"]


def shape_rule(layer: LayerStats, layout: str) -> Optional[ShapeRule]:
    """The rule a derivation spells out for ``layer``: its kind's rule when that has
    a formula (one step per distinct output axis), None when the input and output
    shapes, which a derivation gives for every layer, say it all.

    >>> from symparam import analyze
    >>> s = analyze("model m(H = 32):\\n    input [H, H, 3]\\n    conv2d 8, 3, stride = 2\\n")
    >>> r = shape_rule(s.layers[1], s.layout)
    >>> r.rule, r.axes[0].out, r.axes[0].exact
    ('valid', ceiling(H/2) - 1, H/2 - 1/2)
    """
    kind = lookup(layer.kind)
    if kind is None or not layer.input_shapes:
        return None
    rule = kind.shape_rule(dict(layer.args), tuple(tuple(x) for x in layer.input_shapes),
                           tuple(layer.output_shape), layout)
    return rule if rule is not None and rule.has_formula else None
