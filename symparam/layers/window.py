"""Attention in windows of an image-like tensor (Swin), and space-to-depth.

- :class:`WindowAttention`, ``window_attention HEADS, WINDOW [, shift = S]``: multi-head
  self-attention inside non-overlapping WINDOW x WINDOW windows of a (H, W, C) tensor,
  with a learned relative-position-bias table, as torchvision's
  ``ShiftedWindowAttention`` (Swin Transformer, Liu et al. 2021) and the Keras
  ``WindowAttention`` of keras.io's Swin example. ``shift`` rolls the windows (shifted
  windows): no weights, only the attention mask's additions. torchvision pads H and W up
  to multiples of the window with zeros and attends there too, so costs count the padded
  windows, and it drops the shift of an axis whose padded size fits in one window.
- :class:`SpaceToDepth`, ``space_to_depth B [, pad = true]``: each B x B neighbourhood's
  values stacked along the channels, (H, W, C) to (H/B, W/B, B²C), no weights: Swin's
  patch merging before its norm and linear (torchvision's ``_patch_merging_pad``, which
  pads odd sizes: ``pad = true``), PyTorch's ``PixelUnshuffle``.

It imports what every layer module does (``costs``, ``layers.base``) and nothing else.

>>> from symparam import analyze
>>> src = ("convention torch\\nmodel m(H = 14, W = 14, C = 96):\\n    layout channels_last\\n"
...        "    input [H, W, C]\\n    window_attention 3, 7, shift = 3\\n")
>>> s = analyze(src)
>>> s.value(s.total), s.value(s.buffers)
(37755, 2401)
"""
from __future__ import annotations

import sympy

from ..costs import Cost
from .base import (BUFFER, NON_TRAINABLE, Applied, Arg, ArgError, Example, LayerKind,
                   Weight, boolean, join_channels, nonneg, rate, register, size, sizes,
                   split_channels)
from .attention import ATTENTION


def padded(n, m):
    """``n`` rounded up to a multiple of ``m``: torchvision pads with zeros to it."""
    return sympy.ceiling(n / m) * m


class WindowAttention(LayerKind):
    """Multi-head self-attention within M x M windows, Swin's (W-MSA, SW-MSA).

    PyTorch (torchvision ``ShiftedWindowAttention(dim, window_size, shift_size,
    num_heads, qkv_bias, proj_bias)``): ``qkv`` (Linear C -> 3C), ``proj`` (Linear
    C -> C), the parameter ``relative_position_bias_table`` ((2M_h - 1)(2M_w - 1) x
    heads) and the buffer ``relative_position_index`` (one index per pair of a window's
    positions: (M_h M_w)² numbers). Keras (keras.io's Swin Transformer example,
    ``WindowAttention``): the same Dense layers and table, and the index as a
    non-trainable ``keras.Variable`` of (M_h M_w) x (M_h M_w), which Keras counts as a
    non-trainable parameter.
    """

    family, group = ATTENTION, "attention"
    names = ("window_attention", "shifted_window_attention")
    keras, torch = "WindowAttention", "ShiftedWindowAttention"
    auto_name = "window_attention"
    args = (
        Arg("heads", size, aliases=("num_heads",), doc="the number of attention heads"),
        Arg("window", sizes(2), aliases=("window_size",),
            doc="the window's size M, or [M_h, M_w]"),
        Arg("shift", sizes(2, nonneg), 0, positional=False, aliases=("shift_size",),
            doc="the shift of the windows (shifted windows, Swin's odd blocks: M / 2); "
                "0: none"),
        Arg("qkv_bias", boolean, True, positional=False,
            doc="whether the query/key/value projection has a bias"),
        Arg("proj_bias", boolean, True, positional=False,
            doc="whether the output projection has a bias"),
        Arg("dropout", rate, 0, positional=False, aliases=("attention_dropout",)),
    )
    min_rank = 3
    doc = ("Multi-head self-attention inside non-overlapping windows of a (H, W, C) "
           "tensor (Swin), with a learned relative-position bias per head; shift = M / 2 "
           "rolls the windows (shifted windows: a mask, no weights). H and W need not be "
           "multiples of the window: they are padded with zeros, as torchvision does.")
    equation = (r"\mathrm{head}_j = \operatorname{softmax}\!\left(\frac{Q_j K_j^\top}"
                r"{\sqrt{C/h}} + B_j + \mathrm{mask}\right) V_j \text{ in each window}")
    where = ("Q, K, V the window's M_h M_w positions projected by qkv (C to 3C, h heads "
             "of C/h); B_j read from the relative-position-bias table by each pair's "
             "offset; then proj (C to C)")
    init = {"torch": {"qkv.weight": "kaiming_uniform(a=sqrt(5))", "qkv.bias": "uniform",
                      "proj.weight": "kaiming_uniform(a=sqrt(5))", "proj.bias": "uniform",
                      "relative_position_bias_table": "trunc_normal(std=0.02)",
                      "relative_position_index": "each pair's offset, "
                                                 "(dh + M_h - 1)(2M_w - 1) + dw + M_w - 1"},
            "keras": {"qkv/kernel": "glorot_uniform", "qkv/bias": "zeros",
                      "proj/kernel": "glorot_uniform", "proj/bias": "zeros",
                      "relative_position_bias_table": "zeros",
                      "relative_position_index": "each pair's offset"}}
    example = Example("[H, W, C]", "window_attention h, M", torch_input="[H, W, C]")

    def apply(self, a, x, ctx):
        (h_, w_), c = split_channels(x, 2, ctx, self.names[0])
        heads, (mh, mw) = a.heads, a.window
        ctx.require(sympy.Eq(sympy.Mod(c, heads), 0),
                    lambda: f"window_attention: the channels {c} must be divisible by "
                            f"{heads} heads")
        for s, m, axis in zip(a.shift, a.window, ("rows", "columns")):
            ctx.require(sympy.Lt(s, m), lambda s=s, m=m, axis=axis: (
                f"window_attention: the shift of the {axis} ({s}) must be smaller than "
                f"the window ({m})"))
        table = (2 * mh - 1) * (2 * mw - 1)
        n = mh * mw
        weights = []
        for proj, width, has in (("qkv", 3 * c, a.qkv_bias), ("proj", c, a.proj_bias)):
            weights.append(Weight(ctx.pick(keras=f"{proj}/kernel", torch=f"{proj}.weight"),
                                  ctx.pick(keras=(c, width), torch=(width, c)),
                                  why="query, key and value projected at once: C to 3C"
                                  if proj == "qkv" else "the heads joined back: C to C"))
            if has:
                weights.append(Weight(ctx.pick(keras=f"{proj}/bias", torch=f"{proj}.bias"),
                                      (width,)))
        weights.append(Weight("relative_position_bias_table", (table, heads),
                              why="one learned bias per head for each of the "
                                  "(2M_h - 1)(2M_w - 1) offsets within a window"))
        index = Weight("relative_position_index", ctx.pick(keras=(n, n), torch=(n * n,)),
                       ctx.pick(keras=NON_TRAINABLE, torch=BUFFER),
                       why=ctx.pick(keras="keras.io's example keeps it as a non-trainable "
                                          "keras.Variable: a non-trainable parameter",
                                    torch="torchvision registers it as a buffer"))
        weights.append(index)
        return Applied(tuple(x), tuple(weights))

    def cost(self, a, x, out, ctx):
        """On the zero-padded (H', W') = (ceil(H/M_h) M_h, ceil(W/M_w) M_w): the qkv
        and output projections (4 C² MACs per position) and, in each of the
        H'W'/(M_h M_w) windows, QK^T and AV (M_h M_w positions x C MACs each per
        position). Activations: a softmax per score (heads x M_h M_w per position).
        Element operations: the queries' scaling, the relative-position bias added to
        each score and, with a shift that torchvision keeps (an axis's padded size larger
        than its window), the mask added to each score."""
        (h_, w_), c = split_channels(x, 2, ctx, self.names[0])
        (mh, mw), (sh, sw) = a.window, a.shift
        positions = padded(h_, mh) * padded(w_, mw)
        n = mh * mw
        scores = a.heads * positions * n
        macs = positions * (4 * c**2 + 2 * n * c)
        bias = positions * c * ((3 if a.qkv_bias else 0) + (1 if a.proj_bias else 0))
        shifted = sympy.Min(1, sympy.Min(1, sh) * sympy.Max(0, h_ - mh)
                            + sympy.Min(1, sw) * sympy.Max(0, w_ - mw))
        return Cost(macs, bias, scores, positions * c + scores + shifted * scores)


class SpaceToDepth(LayerKind):
    """Each B x B neighbourhood's values stacked along the channels, no weights.

    (H, W, C) to (H/B, W/B, B²C): PyTorch's ``PixelUnshuffle(B)`` (channels first),
    TensorFlow's ``tf.nn.space_to_depth``; the order of the stacked values differs
    between them, not the shape. ``pad = true`` first pads H and W with zeros up to
    multiples of B, as Swin's patch merging does (torchvision's ``_patch_merging_pad``):
    the output is then ceil(H/B) x ceil(W/B). Without it, H and W must be multiples of B.
    """

    names = ("space_to_depth", "pixel_unshuffle")
    keras, torch, auto_name = "SpaceToDepth", "PixelUnshuffle", "space_to_depth"
    args = (
        Arg("block", size, aliases=("block_size", "downscale_factor"),
            doc="the size B of the neighbourhoods stacked along the channels"),
        Arg("pad", boolean, False, positional=False,
            doc="pad H and W with zeros up to multiples of B first (Swin's patch merging)"),
    )
    min_rank = 3
    doc = ("Stacks each B x B neighbourhood along the channels: (H, W, C) to "
           "(H/B, W/B, B²C); no weights. pad = true pads H and W up to multiples of B "
           "first (Swin's patch merging).")
    equation = r"y_{i, j, (p B + q) C + c} = x_{B i + p,\, B j + q,\, c}"
    where = "0 <= p, q < B: the position inside the neighbourhood"
    example = Example("[H, W, C]", "space_to_depth 2, pad = true",
                      torch_input="[C, H, W]")

    def apply(self, a, x, ctx):
        spatial, c = split_channels(x, 2, ctx, self.names[0])
        b = a.block
        if a.pad:
            return Applied(join_channels(tuple(sympy.ceiling(n / b) for n in spatial),
                                         b * b * c, ctx))
        for n in spatial:
            gap = sympy.Mod(n, b)
            if gap.is_number and gap != 0:
                raise ArgError(f"the size {n} is not a multiple of the block {b} (pad = "
                               f"true pads it up, as Swin's patch merging does)")
            ctx.require(sympy.Eq(gap, 0), lambda n=n: (
                f"space_to_depth: the size {n} must be a multiple of the block {b} "
                f"(or give pad = true)"))
        return Applied(join_channels(tuple(n / b for n in spatial), b * b * c, ctx))

    def cost(self, a, x, out, ctx):
        return Cost()  # moves values only


register(WindowAttention())
register(SpaceToDepth())
