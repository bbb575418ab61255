"""Preprocessing layers that keep state in the model: Keras's ``Normalization``.

Keras's ``keras.layers.Normalization`` standardizes its input with a mean and a
variance learned by ``adapt()`` before training, not by gradients: both are
non-trainable weights of the kept axes' shape, beside a scalar ``count`` of the
examples seen (``layers/preprocessing/normalization.py``: ``add_weight(...,
trainable=False)``). PyTorch has no such layer: its image pipelines normalize in
preprocessing (``torchvision.transforms.Normalize``, which keeps no state), so
symparam refuses it there with the one refusal message; statistics a PyTorch module
does keep are buffers, written ``param [C], buffer = true``.
"""
from __future__ import annotations

import sympy

from ..costs import Cost, elements
from .base import (NON_TRAINABLE, Applied, Arg, ArgError, Example, LayerKind, Only, Weight,
                   axis, normalize_axis, optional, register)
from .norm import NORM  # listed with the normalization layers


class Normalization(LayerKind):
    family, group = NORM, "normalization"
    names = ("normalization",)
    keras, torch, auto_name = "Normalization", "", "normalization"
    only = Only(("keras",), (), "has no Normalization layer (it normalizes in "
                               "preprocessing, torchvision.transforms.Normalize, with no "
                               "state); write statistics a module keeps as `param [C], "
                               "buffer = true`")
    args = (Arg("axis", optional(axis), -1, positional=False,
                doc="the axes with their own mean and variance; none: one for all"),)
    doc = ("Standardizes its input with a mean and variance set by adapt() (not "
           "trained): both non-trainable, with a scalar count of the examples seen.")
    equation = r"y = \frac{x - \mu}{\max\left(\sqrt{\sigma^2}, \epsilon\right)}"
    where = ("mu and sigma squared: the mean and variance adapt() computed, one per "
             "position of the kept axes (one in all with axis = none)")
    init = {"keras": {"mean": "zeros, set by adapt()", "variance": "ones, set by adapt()",
                      "count": "0"}}
    example = Example("[n]", "normalization")

    def apply(self, a, x, ctx):
        kept = () if a.axis is None else (a.axis if isinstance(a.axis, tuple) else (a.axis,))
        try:
            axes = sorted({normalize_axis(k, len(x)) for k in kept})
        except ArgError as err:
            raise ArgError(f"axis: {err}") from None
        shape = tuple(x[i] for i in axes)
        why = "set by adapt() from the data, not by gradients"
        weights = (Weight("mean", shape, NON_TRAINABLE, why),
                   Weight("variance", shape, NON_TRAINABLE, why),
                   Weight("count", (), NON_TRAINABLE, "the number of examples adapt() saw"))
        return Applied(tuple(x), weights)

    def cost(self, a, x, out, ctx):
        """A subtraction and a division per element."""
        return Cost(elementwise=2 * elements(x), macs=sympy.Integer(0))


register(Normalization())
