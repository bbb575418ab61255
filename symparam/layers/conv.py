"""Convolution, pooling, global pooling and zero padding, in 1, 2 and 3 dimensions.

Output sizes, per spatial axis n (kernel k, stride s, dilation d):
- Keras ``valid``:  floor((n - d(k-1) - 1)/s) + 1
- Keras ``same``:   ceil(n/s)  (``causal``, 1-D only, too)
- explicit padding p on both sides (PyTorch's ``padding=p``):
  floor((n + 2p - d(k-1) - 1)/s) + 1
"""
from __future__ import annotations

import sympy

from .base import (Applied, Arg, ArgError, LayerKind, Weight, activation, boolean, choice,
                   join_channels, nonneg, optional, register, size, sizes, split_channels)

_SUFFIX = {1: "1D", 2: "2D", 3: "3D"}


def _padding(rank: int, words: tuple[str, ...]):
    """valid | same (| causal) | an integer | one integer per spatial axis."""
    word = choice(*words)
    ints = sizes(rank, nonneg)

    def convert(v, ctx=None):
        if isinstance(v, tuple) or isinstance(v, sympy.Basic):
            return ints(v)
        return word(v)
    convert.__doc__ = " | ".join(words) + " | integer | list"
    return convert


def conv_length(n, k, s, d, pad, ctx, what: str):
    """Output length of one spatial axis for a convolution or pooling window."""
    eff = d * (k - 1) + 1
    if pad == "same" or pad == "causal":
        return sympy.ceiling(n / s)
    p = 0 if pad == "valid" else pad
    room = n + 2 * p
    if (room - eff).is_number and room - eff < 0:
        raise ArgError(f"{what} window of size {eff} is larger than its input of size {n}"
                       + (f" plus padding {2 * p}" if p else ""))
    return sympy.floor((room - eff) / s) + 1


class Conv(LayerKind):
    def __init__(self, rank: int):
        self.rank = rank
        self.names = (f"conv{rank}d",)
        self.keras, self.torch = f"Conv{_SUFFIX[rank]}", f"Conv{rank}d"
        self.auto_name = f"conv{rank}d"
        words = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.args = (
            Arg("filters", size, aliases=("out_channels",), doc="output channels"),
            Arg("kernel", sizes(rank), aliases=("kernel_size",)),
            Arg("stride", sizes(rank), 1, positional=False, aliases=("strides",)),
            Arg("padding", _padding(rank, words), "valid", positional=False),
            Arg("dilation", sizes(rank), 1, positional=False, aliases=("dilation_rate",)),
            Arg("groups", size, 1, positional=False),
            Arg("bias", boolean, True, positional=False, aliases=("use_bias",)),
            Arg("activation", activation, None, positional=False),
        )
        self.doc = f"A {rank}-D convolution with `filters` output channels."

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        if ctx.convention == "torch" and a.padding == "same" and any(s != 1 for s in a.stride):
            raise ArgError("PyTorch does not support padding='same' for strided convolutions "
                           "(use an integer padding, or convention keras)")
        if ctx.convention == "torch" and a.padding == "causal":
            raise ArgError("padding='causal' is Keras-only (PyTorch has no causal padding)")
        g = a.groups
        ctx.require(sympy.Eq(sympy.Mod(c, g), 0),
                    f"input channels {c} are not divisible by groups={g}")
        ctx.require(sympy.Eq(sympy.Mod(a.filters, g), 0),
                    f"filters {a.filters} are not divisible by groups={g}")
        pads = (a.padding,) * self.rank if isinstance(a.padding, str) else a.padding
        out = tuple(conv_length(n, k, s, d, p, ctx, "the convolution")
                    for n, k, s, d, p in zip(spatial, a.kernel, a.stride, a.dilation, pads))
        kernel = ctx.pick(keras=Weight("kernel", (*a.kernel, c / g, a.filters)),
                          torch=Weight("weight", (a.filters, c / g, *a.kernel)))
        weights = (kernel, Weight("bias", (a.filters,))) if a.bias else (kernel,)
        return Applied(join_channels(out, a.filters, ctx), weights)


class Pool(LayerKind):
    def __init__(self, op: str, rank: int):
        self.op, self.rank = op, rank
        self.names = (f"{op}pool{rank}d",)
        word = {"max": "Max", "avg": "Average"}[op]
        self.keras = f"{word}Pooling{_SUFFIX[rank]}"
        self.torch = f"{'Max' if op == 'max' else 'Avg'}Pool{rank}d"
        self.auto_name = f"{'max' if op == 'max' else 'average'}_pooling{rank}d"
        self.args = (
            Arg("pool", sizes(rank), 2, aliases=("pool_size", "kernel_size")),
            Arg("stride", optional(sizes(rank)), None, positional=False, aliases=("strides",)),
            Arg("padding", _padding(rank, ("valid", "same")), "valid", positional=False),
            Arg("dilation", sizes(rank), 1, positional=False),
            Arg("ceil_mode", boolean, False, positional=False),
        )
        self.doc = f"{word} pooling over {rank}-D windows; stride defaults to the window."

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        stride = a.stride or a.pool
        if ctx.convention == "torch" and a.padding == "same":
            raise ArgError("PyTorch's pooling has no padding='same' (use an integer padding)")
        if ctx.convention == "keras" and ("ceil_mode" in a.given or "dilation" in a.given):
            raise ArgError("ceil_mode and dilation are PyTorch-only pooling options "
                           "(use convention torch)")
        if self.op == "avg" and "dilation" in a.given:
            raise ArgError("average pooling has no dilation")
        pads = (a.padding,) * self.rank if isinstance(a.padding, str) else a.padding
        out = []
        for n, k, s, d, p in zip(spatial, a.pool, stride, a.dilation, pads):
            if not isinstance(p, str):
                ctx.require(sympy.Le(2 * p, k), f"padding {p} is more than half the window {k}")
            length = conv_length(n, k, s, d, p, ctx, "the pooling")
            if a.ceil_mode:
                length = _ceil_mode_length(n, k, s, d, 0 if isinstance(p, str) else p)
            out.append(length)
        return Applied(join_channels(out, c, ctx))


def _ceil_mode_length(n, k, s, d, p):
    # PyTorch: round up, but the last window must start inside the input or left padding.
    o = sympy.ceiling((n + 2 * p - d * (k - 1) - 1) / s) + 1
    return sympy.Piecewise((o - 1, (o - 1) * s >= n + p), (o, True))


class GlobalPool(LayerKind):
    def __init__(self, op: str, rank: int):
        self.op, self.rank = op, rank
        self.names = (f"global_{op}pool{rank}d",)
        word = {"max": "Max", "avg": "Average"}[op]
        self.keras = f"Global{word}Pooling{_SUFFIX[rank]}"
        self.torch = f"Adaptive{'Max' if op == 'max' else 'Avg'}Pool{rank}d"
        self.auto_name = f"global_{'max' if op == 'max' else 'average'}_pooling{rank}d"
        self.args = (Arg("keepdims", boolean, False, positional=False),)
        self.doc = (f"{word} over all {rank}-D positions, one value per channel. PyTorch "
                    f"equivalent: {self.torch}(1) followed by a flatten (unless keepdims).")

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        if a.keepdims:
            return Applied(join_channels((sympy.Integer(1),) * self.rank, c, ctx))
        return Applied((c,))


def _pad_spec(rank: int):
    """Keras's ZeroPadding: an integer, one per axis (both sides), or (before, after) pairs.
    For 1-D, a pair means (left, right)."""
    def convert(v, ctx=None):
        if isinstance(v, tuple):
            if rank == 1 and len(v) == 2 and not any(isinstance(i, tuple) for i in v):
                return ((nonneg(v[0]), nonneg(v[1])),)
            if len(v) != rank:
                raise ArgError(f"expected {rank} entries (one per spatial axis), got {len(v)}")
            out = []
            for item in v:
                if isinstance(item, tuple):
                    if len(item) != 2:
                        raise ArgError("a per-side padding is a pair [before, after]")
                    out.append((nonneg(item[0]), nonneg(item[1])))
                else:
                    p = nonneg(item)
                    out.append((p, p))
            return tuple(out)
        p = nonneg(v)
        return ((p, p),) * rank
    return convert


class ZeroPad(LayerKind):
    def __init__(self, rank: int):
        self.rank = rank
        self.names = (f"zeropad{rank}d",)
        self.keras, self.torch = f"ZeroPadding{_SUFFIX[rank]}", f"ZeroPad{rank}d"
        self.auto_name = f"zero_padding{rank}d"
        self.args = (Arg("padding", _pad_spec(rank), 1),)
        self.doc = f"Adds rows of zeros around each of the {rank} spatial axes."

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        out = tuple(n + before + after for n, (before, after) in zip(spatial, a.padding))
        return Applied(join_channels(out, c, ctx))


for _r in (1, 2, 3):
    register(Conv(_r))
    register(ZeroPad(_r))
    for _op in ("max", "avg"):
        register(Pool(_op, _r))
        register(GlobalPool(_op, _r))
