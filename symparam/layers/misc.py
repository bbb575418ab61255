"""PReLU, upsampling, learned position embeddings, and the axis shuffles take and
permute.

Axes are counted the Keras way in both conventions: the batch is axis 0, so the
first axis of a shape as written in ``input [...]`` is axis 1.
"""
from __future__ import annotations

import sympy

from ..exprs import as_expr
from ..costs import Cost, elements
from ..values import show
from .base import (Applied, Arg, ArgError, AtInit, Example, LayerKind, Only, Weight, choice,
                   join_channels, number, optional, register, signed, size, sizes,
                   split_channels)
from .conv import _SUFFIX, _channels_to_end, card_example

ONE = sympy.Integer(1)


def _positive_axes(v, ctx=None):
    """Keras's 1-based axes (the batch is axis 0): ``2`` or ``[1, 2]``."""
    items = v if isinstance(v, tuple) else (v,)
    out = tuple(signed(i) for i in items)
    for i in out:
        if i.is_number and i < 1:
            raise ArgError(f"axes are counted from 1 (axis 0 is the batch), got {show(i)}")
    return out


def _check_axes(axes, rank: int, what: str) -> list[int]:
    for i in axes:
        if not i.is_number or i > rank:
            raise ArgError(f"{what} {i} is not an axis of a {rank}-D input "
                           f"(valid: 1..{rank}; axis 0 is the batch)")
    return [int(i) - 1 for i in axes]


class PReLU(LayerKind):
    """A ReLU whose negative slope is learned.

    Keras: one slope per input element (alpha has the input's shape), except along
    ``shared_axes``, where one slope serves the whole axis. PyTorch: ``num_parameters``
    slopes, 1 (the default) or the number of channels (axis 1).
    """

    names = ("prelu",)
    keras, torch, auto_name = "PReLU", "PReLU", "p_re_lu"
    args = (
        Arg("shared_axes", optional(_positive_axes), None, positional=False,
            only=Only(("keras",), (), "has num_parameters instead (1, or the number of "
                                      "channels)")),
        Arg("num_parameters", size, 1, positional=False,
            only=Only(("torch",), (), "has one slope per element unless shared_axes")),
    )
    doc = "A ReLU with a learned slope for negative inputs (Keras: per element; PyTorch: 1 or C)."
    equation = r"y = \max(0, x) + \alpha \min(0, x)"
    where = "alpha: the learned slopes (Keras: one per element; PyTorch: 1 or one per channel)"
    init = {"keras": {"alpha": "zeros"}, "torch": {"weight": "0.25"}}
    example = Example("[n]", "prelu")

    def at_init(self, args, ctx):
        """Keras starts with alpha = 0 (a ReLU), PyTorch with 0.25."""
        alpha = ctx.pick(keras=0.0, torch=0.25)

        def fn(x):
            import numpy as np
            return np.maximum(x, np.float32(0)) + np.float32(alpha) * np.minimum(x, np.float32(0))
        return AtInit(r"y = \max(0, x) + %g \min(0, x)" % alpha, ((r"\alpha", f"{alpha:g}"),),
                      fn)

    def cost(self, a, x, out, ctx):
        """One activation per element."""
        return Cost(activations=elements(out))

    def apply(self, a, x, ctx):
        if ctx.convention.prelu_slopes == "per_element":
            shared = _check_axes(a.shared_axes or (), len(x), "shared axis")
            alpha = tuple(ONE if i in shared else d for i, d in enumerate(x))
            why = "Keras learns one slope per input element" + (
                ", one for all of each shared axis" if shared else "")
            return Applied(tuple(x), (Weight("alpha", alpha, why=why),))
        n = a.num_parameters
        if n != 1:
            c = x[-1] if ctx.channels_last else x[0]
            ctx.require(sympy.Eq(n, c), f"num_parameters {n} must be 1 or the number of "
                                        f"channels {c}")
        return Applied(tuple(x), (Weight("weight", (n,), why=(
            "PyTorch learns num_parameters slopes: 1 by default, or one per channel")),))


def _factor(v, ctx=None):
    return number(v) if not isinstance(v, tuple) else tuple(number(i) for i in v)


class Upsample(LayerKind):
    """Repeats (or interpolates) each spatial axis ``factor`` times.

    Keras: ``UpSampling2D(size=2)``, where ``size`` is the factor. PyTorch:
    ``nn.Upsample(scale_factor=2)``, where ``size`` is the *output* size instead; the
    output length is floor(n * scale_factor).
    """

    def __init__(self, rank: int):
        self.rank = rank
        self.names = (f"upsample{rank}d", f"upsampling{rank}d")
        self.keras, self.torch = f"UpSampling{_SUFFIX[rank]}", "Upsample"
        self.auto_name = f"up_sampling{rank}d"
        self.args = (
            Arg("factor", optional(_factor), None, aliases=("scale_factor",)),
            Arg("size", optional(sizes(rank)), None, positional=False),
            Arg("interpolation", choice("nearest", "linear", "bilinear", "bicubic",
                                        "trilinear", "area", "lanczos3", "lanczos5"),
                "nearest", positional=False, aliases=("mode",)),
        )
        self.doc = f"Upsamples each of the {rank} spatial axes by an integer factor."
        self.example = card_example(rank, f"{self.names[0]} s")
        self.equation = r"y_{p,c} = x_{\lfloor p / s \rfloor,\, c}"
        self.where = ("nearest neighbour (the default interpolation), factor s per axis; "
                      "linear modes weigh the neighbours instead")

    def at_init(self, args, ctx):
        """Nearest-neighbour upsampling by whole factors; None for other modes."""
        factor = args.get("factor") or args.get("size")
        if args.get("interpolation", "nearest") != "nearest" or (
                ctx.convention.upsample_size == "output" and args.get("size") is not None):
            return None
        factors = factor if isinstance(factor, tuple) else (factor or 2,) * self.rank
        if any(not as_expr(f).is_integer for f in factors):
            return None
        rank, factors = self.rank, tuple(int(f) for f in factors)

        def fn(x):
            import numpy as np
            for axis, f in zip(range(1, rank + 1), factors):
                x = np.repeat(x, f, axis=axis)
            return x
        return AtInit(self.equation, (), _channels_to_end(fn, ctx))

    def cost(self, a, x, out, ctx):
        """nearest copies (0); (bi/tri)linear weighs 2 inputs per axis, bicubic 4:
        2^rank or 4^rank element operations per output element; area and lanczos are
        not counted."""
        per = {"nearest": 0, "linear": 2, "bilinear": 2, "trilinear": 2, "bicubic": 4}
        if a.interpolation not in per:
            return None
        return Cost(elementwise=elements(out) * per[a.interpolation] ** self.rank)

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, self.rank, ctx, self.names[0])
        # The same word, two meanings: Keras's size is the factor, PyTorch's the output.
        size_means = ctx.convention.upsample_size
        factor, target = a.factor, None
        if a.size is not None:
            if size_means == "factor":
                if factor is not None:
                    raise ArgError("give the factor once: Keras's size is the factor")
                factor = a.size
            else:
                target = a.size
        if target is not None:
            if factor is not None:
                raise ArgError("give either size (the output size) or scale_factor, not both")
            return Applied(join_channels(target, c, ctx))
        factor = sympy.Integer(2) if factor is None else factor
        factors = factor if isinstance(factor, tuple) else (factor,) * self.rank
        if len(factors) != self.rank:
            raise ArgError(f"expected {self.rank} factors, got {len(factors)}")
        whole = not ctx.convention.fractional_upsampling
        for f in factors:
            if f.is_number and f <= 0:
                raise ArgError(f"an upsampling factor must be a positive "
                               f"{'whole number' if whole else 'number'}, got {show(f)}")
            if f.is_number and whole and not f.is_integer:
                arg = "factor" if a.factor is not None else "size"
                ctx.needs("fractional_upsampling", self, arg, getattr(a, arg),
                          "takes whole factors only", x)
        out = tuple(sympy.floor(n * f) for n, f in zip(spatial, factors))
        return Applied(join_channels(out, c, ctx))


class PositionEmbedding(LayerKind):
    """A learned table of one vector per position, added to a sequence ``(T, d)``.

    Keras: ``keras_hub.layers.PositionEmbedding(sequence_length)``, weight
    ``embeddings`` of shape (sequence_length, d). PyTorch: an ``nn.Embedding(
    sequence_length, d)`` looked up with the positions 0..T-1 (GPT-2's ``wpe``,
    BERT's ``position_embeddings``). ``length`` defaults to T, and may exceed it.
    """
    group = "embeddings"

    names = ("position_embedding", "positional_embedding")
    keras, torch, auto_name = "PositionEmbedding", "Embedding", "position_embedding"
    args = (Arg("length", optional(size), None,
                aliases=("sequence_length", "max_length", "num_embeddings")),)
    min_rank = 2
    doc = "Adds a learned vector per position: a (length, d) table; the shape is kept."
    equation = r"y_{t} = x_{t} + P_{t}"
    where = "P is the learned table, one row of d per position t"
    init = {"keras": {"embeddings": "glorot_uniform (keras_hub PositionEmbedding)"},
            "torch": {"weight": "normal(0, 1) (nn.Embedding)"}}
    example = Example("[T, d]", "position_embedding")

    def cost(self, a, x, out, ctx):
        """One addition per element."""
        return Cost(elementwise=elements(x))

    def apply(self, a, x, ctx):
        t, d = x[-2], x[-1]
        length = t if a.length is None else a.length
        ctx.require(sympy.Le(t, length), f"the sequence ({t} positions) is longer than the "
                                         f"position table ({length})")
        name = ctx.pick(keras="embeddings", torch="weight")
        return Applied(tuple(x), (Weight(name, (length, d), why=(
            "one learned vector of d per position, up to the table's length")),))


class Take(LayerKind):
    """One position along an axis, the axis dropped: ``take 0, axis = 1`` is
    ``x[:, 0]`` (BERT's first token). Negative indices count from the end."""

    names = ("take", "select")
    keras, torch, auto_name = "GetItem", "torch.select", "get_item"
    args = (
        Arg("index", signed),
        Arg("axis", signed, 1, positional=False, aliases=("dim",)),
    )
    doc = "Selects one position along an axis and drops that axis (`x[:, i]`)."
    equation = r"y = x_{:, i}"
    where = "i: the index along the axis (axis 1 by default, the first after the batch)"
    example = Example("[T, d]", "take 0")

    def at_init(self, args, ctx):
        index, ax = int(args["index"]), int(args["axis"])
        return AtInit(r"y = x_{:, %d}" % index, (),
                      lambda x: x.take(index, axis=ax if ax > 0 else x.ndim + ax))

    def cost(self, a, x, out, ctx):
        return Cost()  # moves values only

    def apply(self, a, x, ctx):
        rank = len(x)
        ax = a.axis
        if not ax.is_number or not (1 <= ax <= rank or -rank <= ax <= -1):
            raise ArgError(f"axis {ax} is out of range for a {rank}-D input "
                           f"(valid: 1..{rank} or -{rank}..-1; axis 0 is the batch)")
        i = int(ax) - 1 if ax > 0 else rank + int(ax)
        n, k = x[i], a.index
        ctx.require(sympy.And(sympy.Lt(k, n), sympy.Ge(k, -n)),
                    f"index {k} is out of range for an axis of size {n}")
        return Applied(tuple(x[:i]) + tuple(x[i + 1:]))


def _dims(v, ctx=None):
    if not isinstance(v, tuple):
        raise ArgError("expected the new order of the axes as a list, such as [2, 1]")
    return _positive_axes(v)


class Permute(LayerKind):
    """Reorders the axes, Keras's ``Permute(dims)``: 1-based, the batch left in place.
    PyTorch: ``x.permute(0, *dims)``."""

    names = ("permute",)
    keras, torch, auto_name = "Permute", "torch.permute", "permute"
    args = (Arg("dims", _dims),)
    doc = "Reorders the axes (1-based, the batch stays first)."
    equation = r"y_{i_{\pi(1)}, \ldots, i_{\pi(r)}} = x_{i_1, \ldots, i_r}"
    where = "pi: the new order of the axes (dims)"
    example = Example("[T, d]", "permute [2, 1]")

    def at_init(self, args, ctx):
        order = (0, *(int(i) for i in args["dims"]))
        return AtInit(self.equation, (), lambda x: x.transpose(order))

    def cost(self, a, x, out, ctx):
        return Cost()  # moves values only

    def apply(self, a, x, ctx):
        order = _check_axes(a.dims, len(x), "permute axis")
        if sorted(order) != list(range(len(x))):
            raise ArgError(f"dims {[int(i) for i in a.dims]} must list each of the axes "
                           f"1..{len(x)} once")
        return Applied(tuple(x[i] for i in order))


for _kind in (PReLU(), PositionEmbedding(), Take(), Permute(),
              *(Upsample(r) for r in (1, 2, 3))):
    register(_kind)
