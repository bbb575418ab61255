"""Convolutions (grouped, depthwise, separable, transposed) and adaptive pooling:
symbolic formulas against hand derivations, then counts, weight shapes and output
shapes against Keras 3 and PyTorch built for many configurations."""
from __future__ import annotations

import itertools
import re

import pytest
import sympy

import symparam
from layer_oracle import layer_source, measure_keras, measure_symparam, measure_torch
from symparam import SymparamError

H, C, F, k, m = (sympy.Symbol(s, integer=True, positive=True) for s in "H C F k m".split())
SYMBOLS = "H = 9, C = 4, F = 6, k = 3, m = 2"


def symbolic(line: str, convention: str, rank: int = 2):
    shape = ["H"] * rank + ["C"] if convention == "keras" else ["C"] + ["H"] * rank
    src = layer_source(line, shape, convention, SYMBOLS)
    return symparam.analyze(src, symbolic=True).layers[-1]


# ---- formulas, derived by hand ----------------------------------------------------
FORMULAS = [
    # Grouped: each of F filters sees C/g channels.
    ("conv2d F, k, groups = 2", "keras", F * (k**2 * C / 2 + 1)),
    ("conv1d F, k, groups = 2", "torch", F * (k * C / 2 + 1)),
    # Depthwise: C*m filters of k x k over one channel each, plus C*m biases.
    ("depthwise_conv2d k, depth_multiplier = m", "keras", C * m * (k**2 + 1)),
    ("depthwise_conv2d k, depth_multiplier = m", "torch", C * m * (k**2 + 1)),
    ("depthwise_conv1d k, bias = false", "keras", C * k),
    ("conv3d_transpose F, k, bias = false", "torch", C * F * k**3),
    # Separable: depthwise (no bias), pointwise C*m -> F, bias F.
    ("separable_conv2d F, k, depth_multiplier = m", "keras", C * m * k**2 + C * m * F + F),
    ("separable_conv2d F, k, depth_multiplier = m", "torch", C * m * k**2 + C * m * F + F),
    # Transposed: like a convolution from F channels to C, so F*C*k^2 + F.
    ("conv2d_transpose F, k", "keras", F * C * k**2 + F),
    ("conv2d_transpose F, k, groups = 2", "torch", C * F * k**2 / 2 + F),
]


@pytest.mark.parametrize("line, convention, formula", FORMULAS)
def test_formula(line, convention, formula):
    rank = int(re.search(r"(\d)d", line.split()[0]).group(1))
    layer = symbolic(line, convention, rank)
    assert sympy.expand(layer.params - formula) == 0, layer.params
    assert layer.trainable == layer.params and layer.buffers == 0


@pytest.mark.parametrize("line, convention, length", [
    # PyTorch: (H-1)s - 2p + d(k-1) + output_padding + 1
    ("conv2d_transpose F, 3, stride = 2, padding = 1, output_padding = 1", "torch", 2 * H),
    ("conv2d_transpose F, 4, stride = 2, padding = 1", "torch", 2 * H),
    ("conv2d_transpose F, k, stride = 3, dilation = 2", "torch", 3 * H - 3 + 2 * k - 1),
    # Keras: same -> H*s; valid -> (H-1)s + max(k, s)
    ("conv2d_transpose F, k, stride = 2, padding = same", "keras", 2 * H),
    ("conv2d_transpose F, k, stride = 2", "keras", 2 * H - 2 + sympy.Max(k, 2)),
    ("conv2d_transpose F, 3, stride = 2, output_padding = 1", "keras", 2 * H + 2),
    # same with output_padding: (H-1)s + k mod 2 + output_padding (an odd kernel adds 1)
    ("conv2d_transpose F, k, stride = 2, padding = same, output_padding = 1", "keras",
     2 * H - 1 + sympy.Mod(k, 2)),
    # A depthwise convolution shrinks like any convolution.
    ("depthwise_conv2d k, stride = 2", "keras", sympy.floor((H - k) / 2) + 1),
])
def test_output_length(line, convention, length):
    layer = symbolic(line, convention)
    spatial = layer.output_shape[:2] if convention == "keras" else layer.output_shape[1:]
    assert all(sympy.simplify(d - length) == 0 for d in spatial), layer.output_shape


def test_weights_are_named_per_convention():
    keras_w = [(w.name, w.shape) for w in symbolic("separable_conv2d F, k", "keras").weights]
    torch_w = [(w.name, w.shape) for w in symbolic("separable_conv2d F, k", "torch").weights]
    assert keras_w == [("depthwise_kernel", (k, k, C, 1)), ("pointwise_kernel", (1, 1, C, F)),
                       ("bias", (F,))]
    assert torch_w == [("depthwise.weight", (C, 1, k, k)), ("pointwise.weight", (F, C, 1, 1)),
                       ("pointwise.bias", (F,))]
    # Keras stores a transposed kernel (out before in); PyTorch (in, out/groups, ...).
    assert symbolic("conv2d_transpose F, k", "keras").weights[0].shape == (k, k, F, C)
    assert symbolic("conv2d_transpose F, k", "torch").weights[0].shape == (C, F, k, k)


@pytest.mark.parametrize("line, convention, message", [
    ("conv2d_transpose 4, 3, padding = same", "torch", "takes an integer padding"),
    ("conv2d_transpose 4, 3, groups = 2", "keras", "has no groups"),
    ("conv2d_transpose 4, 3, stride = 2, output_padding = 2", "keras",
     "output_padding 2 must be smaller than the stride 2"),
    ("conv2d_transpose 4, 3, output_padding = 1", "torch",
     "smaller than the stride 1 or the dilation 1"),
    ("conv2d_transpose 3, 3, groups = 2", "torch", "not divisible by groups=2"),
    ("depthwise_conv2d 3, stride = 2, padding = same", "torch", "padding='same'"),
    ("separable_conv1d 4, 3, padding = causal", "keras", "expected one of valid, same"),
    ("conv1d 4, 3, padding = causal", "torch", "causal"),
    ("depthwise_conv2d 3, depth_multiplier = 0", "keras", "positive whole number"),
    ("adaptive_avgpool2d [2, 2, 2]", "keras", "expected 2 values"),
    ("depthwise_conv2d 20", "keras", "larger than its input"),
])
def test_bad_options(line, convention, message):
    shape = (8, 8, 4) if convention == "keras" else (4, 8, 8)
    if "1d" in line.split()[0]:
        shape = shape[1:]
    with pytest.raises(SymparamError, match=message) as err:
        symparam.analyze(layer_source(line, shape, convention))
    assert "line 4" in str(err.value)


# ---- Keras 3 ------------------------------------------------------------------------
def _opts(**kw) -> str:
    return "".join(f", {key} = {val}" for key, val in kw.items() if val is not None)


def _keras_transpose_cases():
    for rank, kern, stride, pad, op, dil in itertools.product(
            (1, 2, 3), (2, 3), (1, 2, 3), ("valid", "same"), (None, 0, "max"), (1, 2)):
        if (stride > 1 and dil > 1) or (rank == 3 and kern == 2) or (op == "max" and stride == 1):
            continue  # Keras: no strides with dilation; output_padding < stride
        yield rank, kern, stride, pad, (stride - 1 if op == "max" else op), dil


@pytest.mark.oracle
@pytest.mark.parametrize("rank, kern, stride, pad, op, dil", list(_keras_transpose_cases()))
def test_keras_conv_transpose(rank, kern, stride, pad, op, dil):
    import keras
    shape = (5,) * rank + (3,)
    layer = getattr(keras.layers, f"Conv{rank}DTranspose")(
        4, kern, strides=stride, padding=pad, output_padding=op, dilation_rate=dil)
    line = f"conv{rank}d_transpose 4, {kern}" + _opts(stride=stride, padding=pad,
                                                      output_padding=op, dilation=dil)
    assert measure_symparam(line, shape, "keras") == measure_keras(layer, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("kern, stride, pad, op", [
    ([2, 3], [2, 3], "valid", [1, 2]), ([3, 4], [2, 1], "same", [1, 0]),
    ([1, 5], [3, 2], "same", None), ([4, 2], [3, 3], "valid", None)])
def test_keras_conv_transpose_per_axis(kern, stride, pad, op):
    import keras
    shape = (6, 5, 3)
    layer = keras.layers.Conv2DTranspose(4, kern, strides=stride, padding=pad,
                                         output_padding=op)
    line = f"conv2d_transpose 4, {kern}" + _opts(stride=stride, padding=pad, output_padding=op)
    assert measure_symparam(line, shape, "keras") == measure_keras(layer, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("rank, kern, stride, pad, mult, dil, bias", [
    (r, kern, s, p, mult, d, b)
    for r, kern, s, p, (mult, b), d in itertools.product(
        (1, 2), (1, 3), (1, 2), ("valid", "same"), ((1, True), (3, False)), (1, 2))
    if not (s > 1 and d > 1)])
def test_keras_depthwise_and_separable(rank, kern, stride, pad, mult, dil, bias):
    import keras
    shape = (7,) * rank + (4,)
    suffix = f"{rank}D"
    common = dict(strides=stride, padding=pad, depth_multiplier=mult, dilation_rate=dil,
                  use_bias=bias)
    opts = _opts(stride=stride, padding=pad, depth_multiplier=mult, dilation=dil,
                 bias=str(bias).lower())
    depthwise = getattr(keras.layers, f"DepthwiseConv{suffix}")(kern, **common)
    assert (measure_symparam(f"depthwise_conv{rank}d {kern}" + opts, shape, "keras")
            == measure_keras(depthwise, shape))
    separable = getattr(keras.layers, f"SeparableConv{suffix}")(5, kern, **common)
    assert (measure_symparam(f"separable_conv{rank}d 5, {kern}" + opts, shape, "keras")
            == measure_keras(separable, shape))


@pytest.mark.oracle
@pytest.mark.parametrize("rank, groups, stride, pad", [
    (1, 2, 1, "causal"), (1, 4, 2, "valid"), (2, 2, 2, "same"), (2, 4, 1, "valid"),
    (3, 2, 1, "same"), (3, 4, 2, "valid")])
def test_keras_grouped_conv(rank, groups, stride, pad):
    import keras
    shape = (6,) * rank + (8,)
    layer = getattr(keras.layers, f"Conv{rank}D")(12, 3, strides=stride, padding=pad,
                                                   groups=groups)
    line = f"conv{rank}d 12, 3" + _opts(stride=stride, padding=pad, groups=groups)
    assert measure_symparam(line, shape, "keras") == measure_keras(layer, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("op, rank, size", [
    (op, r, s) for op in ("avg", "max") for r, s in ((1, 3), (2, 2), (2, 4), (3, 1), (3, 2))])
def test_keras_adaptive_pool(op, rank, size):
    import keras
    shape = (8,) * rank + (3,)
    word = {"avg": "Average", "max": "Max"}[op]
    layer = getattr(keras.layers, f"Adaptive{word}Pooling{rank}D")(size)
    line = f"adaptive_{op}pool{rank}d {size}"
    assert measure_symparam(line, shape, "keras") == measure_keras(layer, shape)


# ---- PyTorch ------------------------------------------------------------------------
def _torch_transpose_cases():
    for rank, kern, stride, pad, op, dil, groups in itertools.product(
            (1, 2, 3), (2, 3), (1, 2, 3), (0, 2), (0, "max"), (1, 2), (1, 2)):
        if (rank == 3 and (kern == 2 or groups == 2)) or (op == "max" and max(stride, dil) == 1):
            continue
        yield rank, kern, stride, pad, (max(stride, dil) - 1 if op == "max" else op), dil, groups


@pytest.mark.oracle
@pytest.mark.parametrize("rank, kern, stride, pad, op, dil, groups",
                         list(_torch_transpose_cases()))
def test_torch_conv_transpose(rank, kern, stride, pad, op, dil, groups):
    import torch
    shape = (4,) + (5,) * rank
    module = getattr(torch.nn, f"ConvTranspose{rank}d")(
        4, 6, kern, stride=stride, padding=pad, output_padding=op, dilation=dil, groups=groups)
    line = f"conv{rank}d_transpose 6, {kern}" + _opts(
        stride=stride, padding=pad, output_padding=op, dilation=dil, groups=groups)
    assert measure_symparam(line, shape, "torch") == measure_torch(module, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("kern, stride, pad, op, dil", [
    ([2, 3], [2, 3], [0, 1], [1, 2], [1, 1]), ([3, 1], [1, 2], [2, 0], [1, 0], [2, 1]),
    ([4, 4], [3, 2], [1, 0], [0, 1], [1, 2])])
def test_torch_conv_transpose_per_axis(kern, stride, pad, op, dil):
    """One value per axis: the formula holds axis by axis."""
    import torch
    shape = (3, 6, 5)
    module = torch.nn.ConvTranspose2d(3, 4, kern, stride=stride, padding=pad,
                                      output_padding=op, dilation=dil)
    line = f"conv2d_transpose 4, {kern}" + _opts(stride=stride, padding=pad,
                                                output_padding=op, dilation=dil)
    assert measure_symparam(line, shape, "torch") == measure_torch(module, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("rank, kern, stride, pad, mult, dil, bias", [
    (r, kern, s, p, mult, d, b)
    for r, kern, s, p, mult, d, b in itertools.product(
        (1, 2), (1, 3), (1, 2), (0, 1, "same"), (1, 3), (1, 2), (True, False))
    if not (p == "same" and s > 1)])
def test_torch_depthwise_and_separable(rank, kern, stride, pad, mult, dil, bias):
    import torch
    nn = torch.nn
    conv = getattr(nn, f"Conv{rank}d")
    shape = (4,) + (7,) * rank
    opts = _opts(stride=stride, padding=pad, depth_multiplier=mult, dilation=dil,
                 bias=str(bias).lower())
    window = dict(stride=stride, padding=pad, dilation=dil)
    depthwise = conv(4, 4 * mult, kern, groups=4, bias=bias, **window)
    assert (measure_symparam(f"depthwise_conv{rank}d {kern}" + opts, shape, "torch")
            == measure_torch(depthwise, shape))
    separable = nn.Sequential(conv(4, 4 * mult, kern, groups=4, bias=False, **window),
                              conv(4 * mult, 5, 1, bias=bias))
    assert (measure_symparam(f"separable_conv{rank}d 5, {kern}" + opts, shape, "torch")
            == measure_torch(separable, shape))


@pytest.mark.oracle
@pytest.mark.parametrize("rank, groups, stride, pad, dil", [
    (1, 2, 1, 1, 2), (1, 4, 2, 0, 1), (2, 2, 2, 1, 1), (2, 4, 1, "same", 2),
    (3, 2, 1, 0, 1), (3, 4, 2, 2, 1)])
def test_torch_grouped_conv(rank, groups, stride, pad, dil):
    import torch
    shape = (8,) + (6,) * rank
    module = getattr(torch.nn, f"Conv{rank}d")(8, 12, 3, stride=stride, padding=pad,
                                              dilation=dil, groups=groups)
    line = f"conv{rank}d 12, 3" + _opts(stride=stride, padding=pad, dilation=dil, groups=groups)
    assert measure_symparam(line, shape, "torch") == measure_torch(module, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("op, rank, size", [
    (op, r, s) for op in ("avg", "max")
    for r, s in ((1, 3), (2, 1), (2, "[6, none]"), (2, 10), (3, 2), (3, "[none, 2, 3]"))])
def test_torch_adaptive_pool(op, rank, size):
    import torch
    shape = (3,) + (8,) * rank
    value = (tuple(None if v.strip() == "none" else int(v) for v in size[1:-1].split(","))
             if isinstance(size, str) else size)
    module = getattr(torch.nn, f"Adaptive{op.capitalize()}Pool{rank}d")(value)
    line = f"adaptive_{op}pool{rank}d {size}"
    assert measure_symparam(line, shape, "torch") == measure_torch(module, shape)
