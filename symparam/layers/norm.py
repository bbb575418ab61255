"""Batch and layer normalization: where Keras and PyTorch count differently."""
from __future__ import annotations

import sympy

from .base import (BUFFER, NON_TRAINABLE, Applied, Arg, ArgError, LayerKind, Weight, axis,
                   boolean, normalize_axis, number, optional, register)

_STATS_WHY = ("a running average of the batch statistics, updated during training "
              "but not by gradient")


def _axes(a, x, ctx, default):
    ax = a.axis if a.axis is not None else default
    axes = ax if isinstance(ax, tuple) else (ax,)
    idx = sorted({normalize_axis(i, len(x)) for i in axes})
    return idx


def _affine(a, ctx, kind: str):
    """(center, scale) from Keras's center/scale or PyTorch's affine-style switch."""
    center, scale = a.center, a.scale
    torch_switch = {"batchnorm": "affine", "layernorm": "elementwise_affine"}[kind]
    if torch_switch in a.given:
        center = scale = getattr(a, torch_switch)
    if ctx.convention == "torch" and kind == "batchnorm" and center != scale:
        raise ArgError("PyTorch's BatchNorm has one switch, affine, for both gamma and beta; "
                       "center and scale must agree in convention torch")
    return center, scale


class BatchNorm(LayerKind):
    names = ("batchnorm", "batch_normalization")
    keras, torch, auto_name = "BatchNormalization", "BatchNorm", "batch_normalization"
    args = (
        Arg("axis", optional(axis), None, positional=False),
        Arg("center", boolean, True, positional=False),
        Arg("scale", boolean, True, positional=False),
        Arg("affine", boolean, True, positional=False),
        Arg("track_running_stats", boolean, True, positional=False),
        Arg("epsilon", number, None, positional=False, aliases=("eps",)),
        Arg("momentum", number, None, positional=False),
    )
    doc = ("Normalizes each channel with batch statistics while training and running "
           "averages at inference; gamma scales and beta shifts the result.")

    def type_name(self, ctx, input_shape=None):
        if ctx.convention == "keras":
            return self.keras
        rank = len(input_shape) if input_shape is not None else 2
        return f"BatchNorm{max(1, rank - 1)}d"

    def apply(self, a, x, ctx):
        default = -1 if ctx.channels_last else 1
        idx = _axes(a, x, ctx, default)
        shape = tuple(x[i] for i in idx)
        center, scale = _affine(a, ctx, "batchnorm")
        weights = []
        if scale:
            weights.append(Weight(ctx.pick(keras="gamma", torch="weight"), shape,
                                  why="a learned scale, trained by gradient"))
        if center:
            weights.append(Weight(ctx.pick(keras="beta", torch="bias"), shape,
                                  why="a learned shift, trained by gradient"))
        if ctx.convention == "keras":
            if "track_running_stats" in a.given:
                raise ArgError("track_running_stats is a PyTorch option (use convention torch)")
            weights += [Weight("moving_mean", shape, NON_TRAINABLE, _STATS_WHY),
                        Weight("moving_variance", shape, NON_TRAINABLE, _STATS_WHY)]
        elif a.track_running_stats:
            weights += [Weight("running_mean", shape, BUFFER, _STATS_WHY),
                        Weight("running_var", shape, BUFFER, _STATS_WHY),
                        Weight("num_batches_tracked", (), BUFFER,
                               "a counter of the batches seen, used when momentum is None")]
        return Applied(tuple(x), tuple(weights))


class LayerNorm(LayerKind):
    names = ("layernorm", "layer_normalization")
    keras, torch, auto_name = "LayerNormalization", "LayerNorm", "layer_normalization"
    args = (
        Arg("axis", optional(axis), None, positional=False),
        Arg("center", boolean, True, positional=False, aliases=("bias",)),
        Arg("scale", boolean, True, positional=False),
        Arg("elementwise_affine", boolean, True, positional=False),
        Arg("epsilon", number, None, positional=False, aliases=("eps",)),
    )
    doc = ("Normalizes each example over the given axes (the last by default); "
           "gamma and beta have the shape of those axes.")

    def apply(self, a, x, ctx):
        idx = _axes(a, x, ctx, -1)
        if ctx.convention == "torch" and idx != list(range(idx[0], len(x))):
            raise ArgError("PyTorch's LayerNorm normalizes trailing axes only "
                           "(normalized_shape); give axes that end at the last one")
        shape = tuple(x[i] for i in idx)
        center, scale = _affine(a, ctx, "layernorm")
        weights = []
        if scale:
            weights.append(Weight(ctx.pick(keras="gamma", torch="weight"), shape,
                                  why="a learned scale, trained by gradient"))
        if center:
            weights.append(Weight(ctx.pick(keras="beta", torch="bias"), shape,
                                  why="a learned shift, trained by gradient"))
        return Applied(tuple(x), tuple(weights))


register(BatchNorm())
register(LayerNorm())
