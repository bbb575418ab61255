"""A SwiGLU feed-forward layer, the MLP of LLaMA (Shazeer 2020, "GLU Variants Improve
Transformer"), defined and registered here, outside ``symparam/layers/``: the plugin
of tests/test_plugin_layer.py. Loading this module (``symparam --plugin
tests/plugins/swiglu_plugin.py count ...``, or importing it) is all it takes.

    y = W2 (silu(W1 x) * W3 x)

on the last axis: W1 and W3 map d to the hidden size f, W2 maps f back to d, so the
output has the input's shape and the layer has 3 d f parameters (plus 2f + d with
biases).
"""
from __future__ import annotations

import sympy

from symparam.costs import Cost, elements
from symparam.layers.base import (Applied, Arg, Example, Family, LayerKind, Weight, boolean,
                                  register, size)
from symparam.layers.core import DENSE_INIT

GATED = Family("gated", "Gated feed-forward layers")


class SwiGLU(LayerKind):
    names = ("swiglu",)
    keras, torch, auto_name = "SwiGLU", "SwiGLU", "swiglu"
    args = (Arg("hidden", size, doc="hidden size f"),
            Arg("bias", boolean, False, positional=False))
    family, group = GATED, "feed-forward"
    doc = "A SwiGLU feed-forward layer (LLaMA's MLP) on the last axis; no biases by default."
    equation = (r"y = W_2 \left(\operatorname{silu}(W_1 x) \odot W_3 x\right), \quad "
                r"\operatorname{silu}(z) = \frac{z}{1 + e^{-z}}")
    where = "W_1 and W_3 map d to the hidden size f, W_2 maps f back to d"
    init = DENSE_INIT
    example = Example("[T, d]", "swiglu f")

    def apply(self, a, x, ctx):
        d, f = x[-1], a.hidden
        weights = (*self._linear("w1", d, f, a, ctx), *self._linear("w3", d, f, a, ctx),
                   *self._linear("w2", f, d, a, ctx))
        return Applied(tuple(x), weights)

    @staticmethod
    def _linear(name, n_in, n_out, a, ctx):
        """A Dense (Keras: kernel n_in x n_out) or Linear (PyTorch: weight n_out x n_in)."""
        kernel = ctx.pick(keras=Weight(f"{name}/kernel", (n_in, n_out)),
                          torch=Weight(f"{name}.weight", (n_out, n_in)))
        if not a.bias:
            return (kernel,)
        return (kernel, Weight(ctx.pick(keras=f"{name}/bias", torch=f"{name}.bias"), (n_out,)))

    def cost(self, a, x, out, ctx):
        """Per position: 3 d f MACs, f silu evaluations and f products."""
        positions = elements(x) / x[-1]
        f = a.hidden
        bias = positions * (2 * f + x[-1]) if a.bias else sympy.Integer(0)
        return Cost(macs=positions * 3 * x[-1] * f, bias=bias, activations=positions * f,
                    elementwise=positions * f)


register(SwiGLU())
