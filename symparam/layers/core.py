"""Dense, embedding, dropout, activations, flatten, reshape, identity."""
from __future__ import annotations

import sympy

from ..costs import Cost, activation_ops, elements
from .base import (ACTIVATIONS, Applied, Arg, ArgError, LayerKind, Weight, activation,
                   boolean, choice, fmt_shape, rate, register, signed, size)


class _NoArithmetic:
    """Moves, copies or looks up values: no arithmetic to count."""

    def cost(self, a, x, out, ctx):
        return Cost()


class Dense(LayerKind):
    names = ("dense", "linear")
    keras, torch, auto_name = "Dense", "Linear", "dense"
    args = (
        Arg("units", size, aliases=("out_features",), doc="output size"),
        Arg("activation", activation, None, positional=False),
        Arg("bias", boolean, True, positional=False, aliases=("use_bias",)),
    )
    doc = "A fully connected layer acting on the last axis of an input of any rank."

    def apply(self, a, x, ctx):
        n = x[-1]
        kernel = ctx.pick(keras=Weight("kernel", (n, a.units)),
                          torch=Weight("weight", (a.units, n)))
        weights = (kernel, Weight("bias", (a.units,))) if a.bias else (kernel,)
        return Applied((*x[:-1], a.units), weights)

    def cost(self, a, x, out, ctx):
        """n x units MACs for each of the other axes' positions; a bias addition and
        an activation per output element."""
        return Cost(elements(x[:-1]) * x[-1] * a.units, elements(out) if a.bias else 0,
                    activation_ops(a.activation, elements(out)))


class Embedding(_NoArithmetic, LayerKind):
    names = ("embedding",)
    keras, torch, auto_name = "Embedding", "Embedding", "embedding"
    args = (
        Arg("vocabulary", size, aliases=("input_dim", "num_embeddings"), doc="vocabulary size"),
        Arg("dimension", size, aliases=("output_dim", "embedding_dim"), doc="vector size"),
    )
    min_rank = 0
    doc = "A learned table of `vocabulary` vectors; each integer index becomes its vector."

    def apply(self, a, x, ctx):
        table = Weight(ctx.pick(keras="embeddings", torch="weight"), (a.vocabulary, a.dimension))
        return Applied((*x, a.dimension), (table,))


class Dropout(_NoArithmetic, LayerKind):
    names = ("dropout",)
    keras, torch, auto_name = "Dropout", "Dropout", "dropout"
    args = (Arg("rate", rate, aliases=("p",)),)
    doc = "Zeroes a fraction `rate` of its input during training; no weights."

    def apply(self, a, x, ctx):
        return Applied(tuple(x))


class Identity(_NoArithmetic, LayerKind):
    names = ("identity",)
    keras, torch, auto_name = "Identity", "Identity", "identity"
    min_rank = 0

    def apply(self, a, x, ctx):
        return Applied(tuple(x))


# Keras layer class and automatic name, PyTorch module, for each activation layer.
_ACTIVATION_LAYERS = {
    "relu": ("ReLU", "re_lu", "ReLU"),
    "relu6": ("Activation", "activation", "ReLU6"),
    "sigmoid": ("Activation", "activation", "Sigmoid"),
    "tanh": ("Activation", "activation", "Tanh"),
    "softmax": ("Softmax", "softmax", "Softmax"),
    "gelu": ("Activation", "activation", "GELU"),
    "silu": ("Activation", "activation", "SiLU"),
    "elu": ("ELU", "elu", "ELU"),
    "leaky_relu": ("LeakyReLU", "leaky_re_lu", "LeakyReLU"),
}


class ActivationLayer(LayerKind):
    """``relu`` (a layer of its own) and ``activation relu`` (Keras's Activation)."""

    min_rank = 0

    def __init__(self, fn: str | None):
        self.fn = fn
        if fn is None:
            self.names = ("activation",)
            self.keras, self.auto_name, self.torch = "Activation", "activation", ""
            self.args = (Arg("function", choice(*ACTIVATIONS)),)
        else:
            self.names = (fn,)
            self.keras, self.auto_name, self.torch = _ACTIVATION_LAYERS[fn]
            self.args = ()
        self.doc = "An activation function applied element-wise; no weights."

    def type_name(self, ctx, input_shape=None):
        if self.fn is None:
            return "Activation"
        return ctx.pick(keras=self.keras, torch=self.torch)

    def apply(self, a, x, ctx):
        return Applied(tuple(x))

    def cost(self, a, x, out, ctx):
        """One evaluation per element (softmax too); ``linear`` none."""
        return Cost(activations=activation_ops(self.fn or a.function, elements(out)))


class Flatten(_NoArithmetic, LayerKind):
    names = ("flatten",)
    keras, torch, auto_name = "Flatten", "Flatten", "flatten"
    min_rank = 0
    doc = "Flattens every axis but the batch into one."

    def apply(self, a, x, ctx):
        return Applied((sympy.Mul(*x),))


def _target_shape(v, ctx=None):
    if not isinstance(v, tuple) or not v:
        raise ArgError("expected the target shape as a list, such as [4, 4, 8]")
    dims = tuple(signed(d) for d in v)
    if sum(1 for d in dims if d == -1) > 1:
        raise ArgError("at most one dimension of a reshape can be -1")
    for d in dims:
        if d != -1 and d.is_number and d < 1:
            raise ArgError(f"a reshape dimension must be positive or -1, got {d}")
    return dims


class Reshape(_NoArithmetic, LayerKind):
    names = ("reshape", "view")
    keras, torch, auto_name = "Reshape", "Unflatten", "reshape"
    args = (Arg("shape", _target_shape, aliases=("target_shape",)),)
    min_rank = 0
    doc = "Rearranges the elements (the batch kept) into a new shape; -1 takes the rest."

    def apply(self, a, x, ctx):
        total = sympy.Mul(*x)
        known = sympy.Mul(*[d for d in a.shape if d != -1])
        if any(d == -1 for d in a.shape):
            rest = total / known
            if rest.is_number and not rest.is_integer:
                raise ArgError(f"cannot reshape {fmt_shape(x)} ({total} elements) into "
                               f"{list(a.shape)}: {total} is not divisible by {known}")
            ctx.require(sympy.Eq(sympy.Mod(total, known), 0),
                        f"cannot reshape: {total} elements are not divisible by {known}")
            out = tuple(rest if d == -1 else d for d in a.shape)
        else:
            ctx.require(sympy.Eq(sympy.expand(total - known), 0),
                        f"cannot reshape {fmt_shape(x)} ({total} elements) into "
                        f"{list(a.shape)} ({known} elements)")
            out = a.shape
        return Applied(tuple(out))


for _kind in (Dense(), Embedding(), Dropout(), Identity(), Flatten(), Reshape(),
              ActivationLayer(None), *(ActivationLayer(f) for f in _ACTIVATION_LAYERS)):
    register(_kind)
