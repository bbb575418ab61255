"""Normalization layers: batch, layer, group, instance and RMS normalization.

Where Keras and PyTorch count differently:
- batch statistics: Keras keeps them as non-trainable *parameters* (moving_mean,
  moving_variance); PyTorch as *buffers* (running_mean, running_var, plus the
  num_batches_tracked counter), which are not parameters;
- the learned scale (gamma / weight) and shift (beta / bias): Keras switches each on
  its own (``center``, ``scale``); PyTorch has one switch for both (``affine``, or
  ``elementwise_affine`` for LayerNorm/RMSNorm) and since 2.1 a ``bias`` switch that
  drops the shift alone. A shift without a scale has no PyTorch spelling;
- defaults: PyTorch's InstanceNorm has neither affine weights nor running statistics
  unless asked; Keras has no instance normalization layer (GroupNormalization with
  groups=-1 is one).
"""
from __future__ import annotations

import sympy

from ..costs import Cost, elements
from .base import (BUFFER, Applied, Arg, ArgError, AtInit, Example, LayerKind, Only, Weight,
                   axis, boolean, normalize_axis, number, optional, register, signed,
                   size)
from .base import Family

_STATS_WHY = ("a running average of the batch statistics, updated during training "
              "but not by gradient")
_GAMMA_WHY = "a learned scale, trained by gradient"
_BETA_WHY = "a learned shift, trained by gradient"


def _axes(a, x, ctx, default):
    ax = a.axis if a.axis is not None else default
    axes = ax if isinstance(ax, tuple) else (ax,)
    found = [normalize_axis(i, len(x)) for i in axes]
    if len(set(found)) != len(found):  # Keras would build a weight per repeat of it
        raise ArgError(f"axis {list(axes)} names the same axis more than once")
    return sorted(found)


def _channel_axis(ctx) -> int:
    return -1 if ctx.channels_last else 1


def _args(switch: str, switch_default: bool = True) -> tuple[Arg, ...]:
    """center/scale (Keras), the PyTorch switch for both, bias (PyTorch), epsilon."""
    return (
        Arg("center", boolean, True, positional=False),
        Arg("scale", boolean, True, positional=False),
        Arg(switch, boolean, switch_default, positional=False),
        Arg("bias", boolean, True, positional=False),
        Arg("epsilon", number, None, positional=False, aliases=("eps",)),
    )


def _scale_shift(a, ctx, switch: str, shape: tuple, default_on: bool = True,
                 kind: LayerKind | None = None, x: tuple | None = None) -> list[Weight]:
    """gamma/beta (Keras) or weight/bias (PyTorch) of ``shape``, as the switches say.

    Keras's center and scale switch each alone. PyTorch's ``switch`` (affine or
    elementwise_affine) turns both on or off and ``bias = false`` drops the shift.
    """
    on = getattr(a, switch) if switch in a.given else default_on
    scale = a.scale and on
    center = a.center and on and a.bias
    if center and not scale and kind is not None:
        ctx.needs("shift_without_scale", kind, "scale", False,
                  f"has no shift without a scale: {switch} = true gives both, bias = false "
                  f"keeps the scale alone", x)
    weights = []
    if scale:
        weights.append(Weight(ctx.pick(keras="gamma", torch="weight"), shape, why=_GAMMA_WHY))
    if center:
        weights.append(Weight(ctx.pick(keras="beta", torch="bias"), shape, why=_BETA_WHY))
    return weights


def _running_stats(ctx, shape: tuple) -> list[Weight]:
    """The running mean and variance, in the role the convention gives them (Keras:
    non-trainable parameters; PyTorch: buffers), and PyTorch's batch counter."""
    role = ctx.convention.statistics
    mean, var = ctx.pick(keras=("moving_mean", "moving_variance"),
                         torch=("running_mean", "running_var"))
    weights = [Weight(mean, shape, role, _STATS_WHY), Weight(var, shape, role, _STATS_WHY)]
    if ctx.convention.batch_counter:
        weights.append(Weight("num_batches_tracked", (), BUFFER,
                              "a counter of the batches seen, used when momentum is None"))
    return weights


def _norm_cost(a, x, ctx, switch: str, per_element: int, default_on: bool = True) -> Cost:
    """``per_element`` element operations (statistics, normalizing) per element, one
    more for a learned scale; a learned shift is a bias addition per element."""
    roles = {w.why for w in _scale_shift(a, ctx, switch, (1,), default_on)}
    n = elements(x)
    return Cost(bias=n if _BETA_WHY in roles else 0,
                elementwise=n * (per_element + (1 if _GAMMA_WHY in roles else 0)))


def _torch_rank_name(base: str, input_shape, low: int = 1) -> str:
    """BatchNorm2d and the like: the number is the count of spatial axes."""
    rank = len(input_shape) if input_shape is not None else 2
    return f"{base}{max(low, rank - 1)}d"


# ---- cards: initial values, and the forward pass at them ---------------------------

_AFFINE_INIT = {"keras": {"gamma": "ones", "beta": "zeros"},
                "torch": {"weight": "ones", "bias": "zeros"}}
_EPSILON = {"keras": {"epsilon": "0.001"}, "torch": {"epsilon": "1e-05"}}
_STANDARDIZE = r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}}"


def _eps(args: dict, ctx, keras: float, torch: float) -> float:
    given = args.get("epsilon")
    return float(given) if given is not None else ctx.pick(keras=keras, torch=torch)


def _num(v: float) -> str:
    return f"{v:.10g}"


def _standardize(eps: float, axes_of):
    """(x - mean) / sqrt(var + eps) over the axes ``axes_of(x)`` picks, in float32:
    normalization at gamma = 1, beta = 0 with the example's own statistics."""
    def fn(x):
        import numpy as np
        axes = axes_of(x)
        mean = x.mean(axis=axes, keepdims=True, dtype=np.float32)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True, dtype=np.float32)
        return (x - mean) / np.sqrt(var + np.float32(eps))
    return fn


def _feature_axes(args: dict, ctx, default):
    """The normalized axes of a batch (axis 0 the batch), from the axis argument."""
    def axes_of(x):
        ax = args.get("axis")
        ax = default if ax is None else ax
        items = ax if isinstance(ax, tuple) else (ax,)
        return tuple(1 + normalize_axis(i, x.ndim - 1) for i in items)
    return axes_of


NORM = Family("norm", "Normalization", 20)


class BatchNorm(LayerKind):
    family, group = NORM, "normalization"
    names = ("batchnorm", "batch_normalization")
    keras, torch, auto_name = "BatchNormalization", "BatchNorm", "batch_normalization"
    args = (
        Arg("axis", optional(axis), None, positional=False),
        *_args("affine"),
        Arg("track_running_stats", boolean, True, positional=False,
            only=Only(("torch",), (), "always keeps running statistics")),
        Arg("momentum", number, None, positional=False),
    )
    doc = ("Normalizes each channel with batch statistics while training and running "
           "averages at inference; gamma scales and beta shifts the result.")
    equation = r"y = \gamma \frac{x - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta"
    where = ("per channel; at inference mu and sigma squared are the moving (running) mean and "
             "variance, while training the batch's")
    init = {"keras": {**_AFFINE_INIT["keras"], "moving_mean": "zeros",
                      "moving_variance": "ones"},
            "torch": {**_AFFINE_INIT["torch"], "running_mean": "zeros", "running_var": "ones",
                      "num_batches_tracked": "0"}}
    constants = {"keras": {**_EPSILON["keras"],
                           "momentum": "0.99 (moving = 0.99 moving + 0.01 batch)"},
                 "torch": {**_EPSILON["torch"],
                           "momentum": "0.1 (running = 0.9 running + 0.1 batch)"}}
    example = Example("[C]", "batchnorm")

    def at_init(self, args, ctx):
        """At inference with the initial statistics (mean 0, variance 1) and gamma = 1,
        beta = 0: y = x / sqrt(1 + eps). PyTorch without running statistics uses the
        batch's own."""
        eps = _eps(args, ctx, 1e-3, 1e-5)
        if not args.get("track_running_stats", True):
            axes = _feature_axes({"axis": args.get("axis")}, ctx, 1)
            return AtInit(r"y = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + %s}}" % _num(eps),
                          (("\\gamma", 1), ("\\beta", 0), ("\\epsilon", _num(eps))),
                          _standardize(eps, lambda x: tuple(i for i in range(x.ndim)
                                                            if i not in axes(x))))

        def fn(x):
            import numpy as np
            return x / np.sqrt(np.float32(1) + np.float32(eps))
        return AtInit(r"y = \frac{x}{\sqrt{%s}}" % _num(1 + eps),
                      (("\\gamma", 1), ("\\beta", 0), ("\\mu", 0), ("\\sigma^2", 1),
                       ("\\epsilon", _num(eps))), fn)

    def cost(self, a, x, out, ctx):
        """At inference, with the running statistics: 2 ops per element (subtract the mean,
        divide by the deviation), +1 for the scale; the shift is a bias addition."""
        return _norm_cost(a, x, ctx, "affine", 2)

    def declared_type(self, ctx, input_shape=None):
        return ctx.pick(keras=self.keras, torch=_torch_rank_name("BatchNorm", input_shape))

    def apply(self, a, x, ctx):
        if isinstance(a.axis, tuple) and len(a.axis) > 1:
            ctx.needs("many_batchnorm_axes", self, "axis", a.axis, "takes a single axis", x)
        idx = _axes(a, x, ctx, _channel_axis(ctx))
        shape = tuple(x[i] for i in idx)
        weights = _scale_shift(a, ctx, "affine", shape, kind=self, x=x)
        if a.track_running_stats:  # false only where the convention has the option
            weights += _running_stats(ctx, shape)
        return Applied(tuple(x), tuple(weights))


def _trailing(idx, x, ctx, kind: LayerKind, a) -> None:
    if idx != list(range(idx[0], len(x))):
        ctx.needs("inner_norm_axes", kind, "axis", a.axis,
                  "normalizes trailing axes only (normalized_shape); give axes that end "
                  "at the last one", x)


class LayerNorm(LayerKind):
    family, group = NORM, "normalization"
    names = ("layernorm", "layer_normalization")
    keras, torch, auto_name = "LayerNormalization", "LayerNorm", "layer_normalization"
    args = (Arg("axis", optional(axis), None, positional=False), *_args("elementwise_affine"))
    doc = ("Normalizes each example over the given axes (the last by default); "
           "gamma and beta have the shape of those axes.")
    equation = BatchNorm.equation
    where = "mu, sigma squared: the mean and variance of each example over the normalized axes"
    init, constants = _AFFINE_INIT, _EPSILON
    example = Example("[T, d]", "layernorm")

    def at_init(self, args, ctx):
        """gamma = 1, beta = 0: each example standardized with its own statistics."""
        eps = _eps(args, ctx, 1e-3, 1e-5)
        return AtInit(_STANDARDIZE.replace(r"\hat{x}", "y").replace(r"\epsilon", _num(eps)),
                      (("\\gamma", 1), ("\\beta", 0), ("\\epsilon", _num(eps))),
                      _standardize(eps, _feature_axes(args, ctx, -1)))

    def cost(self, a, x, out, ctx):
        """5 ops per element: the mean (1), the variance (2: subtract, square and add),
        normalizing (2); +1 for the scale; the shift is a bias addition."""
        return _norm_cost(a, x, ctx, "elementwise_affine", 5)

    def apply(self, a, x, ctx):
        idx = _axes(a, x, ctx, -1)
        _trailing(idx, x, ctx, self, a)
        shape = tuple(x[i] for i in idx)
        return Applied(tuple(x), tuple(_scale_shift(a, ctx, "elementwise_affine", shape,
                                                    kind=self, x=x)))


class RMSNorm(LayerKind):
    """Root-mean-square normalization: a learned scale, no shift.

    Keras 3: ``RMSNormalization(axis=-1)`` always has its ``scale`` (the older
    ``LayerNormalization(rms_scaling=True)`` is deprecated; it too learns only gamma).
    PyTorch: ``nn.RMSNorm(normalized_shape, elementwise_affine=True)``, a ``weight``.
    """
    family, group = NORM, "normalization"

    names = ("rmsnorm", "rms_normalization")
    keras, torch, auto_name = "RMSNormalization", "RMSNorm", "rms_normalization"
    args = (
        Arg("axis", optional(axis), None, positional=False),
        Arg("elementwise_affine", boolean, True, positional=False, aliases=("scale",),
            only=Only(("torch",), (False,), "always learns its scale")),
        Arg("epsilon", number, None, positional=False, aliases=("eps",)),
    )
    doc = "Divides each example by its root mean square over the given axes, then scales."
    equation = r"y = \gamma \frac{x}{\sqrt{\overline{x^2} + \epsilon}}"
    where = "the mean of the squares over the normalized axes (the last by default)"
    init = {"keras": {"scale": "ones"}, "torch": {"weight": "ones"}}
    constants = {"keras": {"epsilon": "1e-06"},
                 "torch": {"epsilon": "None: torch.finfo(dtype).eps, 1.1920929e-07 in "
                                      "float32"}}
    example = Example("[T, d]", "rmsnorm")

    def at_init(self, args, ctx):
        eps = _eps(args, ctx, 1e-6, 1.1920928955078125e-07)
        axes_of = _feature_axes(args, ctx, -1)

        def fn(x):
            import numpy as np
            ms = (x * x).mean(axis=axes_of(x), keepdims=True, dtype=np.float32)
            return x / np.sqrt(ms + np.float32(eps))
        return AtInit(r"y = \frac{x}{\sqrt{\overline{x^2} + %s}}" % _num(eps),
                      (("\\gamma", 1), ("\\epsilon", _num(eps))), fn)

    def cost(self, a, x, out, ctx):
        """2 ops per element (square and add, divide by the root mean square), +1 for
        the scale."""
        return Cost(elementwise=elements(x) * (3 if a.elementwise_affine else 2))

    def apply(self, a, x, ctx):
        idx = _axes(a, x, ctx, -1)
        _trailing(idx, x, ctx, self, a)
        if not a.elementwise_affine:
            return Applied(tuple(x))
        shape = tuple(x[i] for i in idx)
        return Applied(tuple(x), (Weight(ctx.pick(keras="scale", torch="weight"), shape,
                                         why="a learned scale; RMS normalization has no shift"),))


def _groups(v, ctx=None):
    """A positive number of groups, or -1 (Keras: one group per channel)."""
    v = signed(v)
    return v if v == -1 else size(v)


class GroupNorm(LayerKind):
    """Normalization over groups of channels. Keras ``GroupNormalization(groups=32,
    center, scale)`` (groups=-1: one per channel); PyTorch ``GroupNorm(num_groups, C,
    affine, bias)``. gamma and beta (weight and bias) are per channel."""
    family, group = NORM, "normalization"

    names = ("groupnorm", "group_normalization")
    keras, torch, auto_name = "GroupNormalization", "GroupNorm", "group_normalization"
    args = (
        Arg("groups", _groups, aliases=("num_groups",),
            only=Only(("keras",), (-1,), "needs a positive num_groups (groups = -1: one "
                                         "per channel)")),
        Arg("axis", optional(signed), None, positional=False),
        *_args("affine"),
    )
    doc = "Normalizes each example over groups of its channels; per-channel gamma and beta."
    equation = BatchNorm.equation
    where = ("mu, sigma squared: the mean and variance of each example over its group's "
             "C/G channels and all positions; gamma, beta per channel")
    init, constants = _AFFINE_INIT, _EPSILON
    example = Example("[H, W, C]", "groupnorm G", torch_input="[C, H, W]")

    def at_init(self, args, ctx):
        eps = _eps(args, ctx, 1e-3, 1e-5)
        groups = int(args["groups"])
        ax = args.get("axis")

        def fn(x):
            import numpy as np
            c_axis = 1 + normalize_axis(ax if ax is not None else _channel_axis(ctx),
                                        x.ndim - 1)
            moved = np.moveaxis(x, c_axis, 1)
            g = moved.shape[1] if groups == -1 else groups
            split = moved.reshape(moved.shape[0], g, -1)
            y = _standardize(eps, lambda t: (2,))(split).reshape(moved.shape)
            return np.moveaxis(y, 1, c_axis)
        return AtInit(_STANDARDIZE.replace(r"\hat{x}", "y").replace(r"\epsilon", _num(eps)),
                      (("\\gamma", 1), ("\\beta", 0), ("\\epsilon", _num(eps))), fn)

    def cost(self, a, x, out, ctx):
        """As layer normalization: 5 ops per element, +1 for the scale, the shift a bias."""
        return _norm_cost(a, x, ctx, "affine", 5)

    def apply(self, a, x, ctx):
        c = x[normalize_axis(a.axis if a.axis is not None else _channel_axis(ctx), len(x))]
        g = a.groups
        if g == -1:
            g = c
        ctx.require(sympy.Eq(sympy.Mod(c, g), 0), f"channels {c} are not divisible by groups={g}")
        return Applied(tuple(x), tuple(_scale_shift(a, ctx, "affine", (c,), kind=self, x=x)))


class InstanceNorm(LayerKind):
    """PyTorch's InstanceNorm1d/2d/3d: each channel of each example normalized over its
    positions. By default no weights and no running statistics (affine=False,
    track_running_stats=False). Keras has no such layer."""
    family, group = NORM, "normalization"

    names = ("instancenorm", "instance_normalization")
    keras, torch, auto_name = "", "InstanceNorm", "instance_normalization"
    only = Only(("torch",), (), "has no instance normalization layer; `groupnorm -1` "
                               "(GroupNormalization(groups=-1)) is one, with gamma and beta "
                               "unless center/scale are false")
    args = (*_args("affine", False),
            Arg("track_running_stats", boolean, False, positional=False),
            Arg("momentum", number, None, positional=False))
    min_rank = 2
    doc = ("Normalizes each channel of each example over its positions (PyTorch); "
           "weights and running statistics only if asked.")
    equation = BatchNorm.equation
    where = ("mu, sigma squared: the mean and variance of one channel of one example over "
             "its positions; gamma and beta only with affine = true")
    init = {"torch": {**_AFFINE_INIT["torch"], "running_mean": "zeros", "running_var": "ones",
                      "num_batches_tracked": "0"}}
    constants = {"torch": _EPSILON["torch"]}
    example = Example("[L, C]", "instancenorm", torch_input="[C, L]")

    def at_init(self, args, ctx):
        """Without running statistics (the default) each channel is standardized over
        its positions, at inference too; with them, y = x / sqrt(1 + eps) at first."""
        eps = _eps(args, ctx, 1e-3, 1e-5)
        if args.get("track_running_stats"):
            return BatchNorm().at_init({"epsilon": eps}, ctx)

        def positions(x):
            c = 1 + normalize_axis(_channel_axis(ctx), x.ndim - 1)
            return tuple(i for i in range(1, x.ndim) if i != c)
        return AtInit(_STANDARDIZE.replace(r"\hat{x}", "y").replace(r"\epsilon", _num(eps)),
                      (("\\epsilon", _num(eps)),), _standardize(eps, positions))

    def cost(self, a, x, out, ctx):
        """As layer normalization: 5 ops per element, +1 for the scale, the shift a bias."""
        return _norm_cost(a, x, ctx, "affine", 5, default_on=False)

    def declared_type(self, ctx, input_shape=None):
        return _torch_rank_name("InstanceNorm", input_shape)

    def apply(self, a, x, ctx):
        if len(x) > 4:
            raise ArgError(f"PyTorch's InstanceNorm takes 1 to 3 spatial axes, got {len(x) - 1}")
        c = x[normalize_axis(_channel_axis(ctx), len(x))]
        weights = _scale_shift(a, ctx, "affine", (c,), default_on=False, kind=self, x=x)
        if a.track_running_stats:
            weights += _running_stats(ctx, (c,))
        return Applied(tuple(x), tuple(weights))


for _kind in (BatchNorm(), LayerNorm(), RMSNorm(), GroupNorm(), InstanceNorm()):
    register(_kind)
