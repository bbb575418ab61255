"""Normalization layers (batch, layer, group, instance, RMS): formulas derived by hand,
then counts by role, weight shapes and output shapes against Keras 3 and PyTorch for
every combination of their switches."""
from __future__ import annotations

import itertools

import pytest
import sympy

import symparam
from layer_oracle import layer_source, measure_keras, measure_symparam, measure_torch
from symparam import SymparamError

C, T, d = (sympy.Symbol(s, integer=True, positive=True) for s in "C T d".split())


def symbolic(line: str, convention: str, shape=("T", "C")):
    src = layer_source(line, shape, convention, "T = 5, C = 8, d = 6")
    return symparam.analyze(src, symbolic=True).layers[-1]


# ---- formulas, derived by hand: (trainable, non-trainable, buffers) ---------------
FORMULAS = [
    # Keras keeps the moving mean and variance as non-trainable parameters...
    ("batchnorm", "keras", ("T", "C"), (2 * C, 2 * C, 0)),
    ("batchnorm center = false", "keras", ("T", "C"), (C, 2 * C, 0)),
    # ...PyTorch as buffers, with a batch counter: 2C + 1.
    ("batchnorm", "torch", ("C", "T"), (2 * C, 0, 2 * C + 1)),
    ("batchnorm bias = false", "torch", ("C", "T"), (C, 0, 2 * C + 1)),
    ("batchnorm affine = false, track_running_stats = false", "torch", ("C", "T"), (0, 0, 0)),
    ("layernorm", "keras", ("T", "C"), (2 * C, 0, 0)),
    ("layernorm axis = [1, 2]", "keras", ("T", "C"), (2 * T * C, 0, 0)),
    ("layernorm bias = false", "torch", ("T", "d"), (d, 0, 0)),
    ("rmsnorm", "keras", ("T", "d"), (d, 0, 0)),
    ("rmsnorm", "torch", ("T", "d"), (d, 0, 0)),
    ("rmsnorm elementwise_affine = false", "torch", ("T", "d"), (0, 0, 0)),
    # GroupNorm: gamma and beta per channel, whatever the number of groups.
    ("groupnorm 4", "keras", ("T", "C"), (2 * C, 0, 0)),
    ("groupnorm 2, affine = false", "torch", ("C", "T"), (0, 0, 0)),
    # InstanceNorm (PyTorch): nothing by default.
    ("instancenorm", "torch", ("C", "T"), (0, 0, 0)),
    ("instancenorm affine = true, track_running_stats = true", "torch", ("C", "T"),
     (2 * C, 0, 2 * C + 1)),
]


@pytest.mark.parametrize("line, convention, shape, roles", FORMULAS)
def test_formula(line, convention, shape, roles):
    layer = symbolic(line, convention, shape)
    got = (layer.trainable, layer.non_trainable, layer.buffers)
    assert all(sympy.expand(g - r) == 0 for g, r in zip(got, roles)), got
    assert layer.output_shape == layer.input_shapes[0]


def test_batch_statistics_are_data_a_derivation_can_show():
    keras_w = {w.name: w.role for w in symbolic("batchnorm", "keras").weights}
    torch_w = {w.name: w.role for w in symbolic("batchnorm", "torch", ("C", "T")).weights}
    assert keras_w == {"gamma": "trainable", "beta": "trainable",
                       "moving_mean": "non_trainable", "moving_variance": "non_trainable"}
    assert torch_w == {"weight": "trainable", "bias": "trainable", "running_mean": "buffer",
                       "running_var": "buffer", "num_batches_tracked": "buffer"}
    why = [w.why for w in symbolic("batchnorm", "keras").weights if w.name == "moving_mean"]
    assert "not by gradient" in why[0]


@pytest.mark.parametrize("line, convention, shape, message", [
    ("instancenorm", "keras", (5, 8), "Keras has no instance normalization"),
    ("instancenorm", "torch", (2, 3, 4, 5, 6), "1 to 3 spatial axes"),
    ("groupnorm -1", "torch", (8, 5),
     "`groups = -1` is a Keras option; PyTorch's GroupNorm needs a positive num_groups"),
    ("groupnorm 3", "keras", (5, 8), "channels 8 are not divisible by groups=3"),
    ("groupnorm 0", "keras", (5, 8), "positive whole number"),
    ("rmsnorm elementwise_affine = false", "keras", (5, 8), "always learns its scale"),
    ("rmsnorm axis = 1", "torch", (5, 8), "trailing axes only"),
    ("layernorm axis = 1", "torch", (5, 8), "trailing axes only"),
    ("batchnorm track_running_stats = false", "keras", (5, 8), "PyTorch option"),
    ("batchnorm scale = false", "torch", (8, 5), "no shift without a scale"),
    ("layernorm axis = 3", "keras", (5, 8), "axis 3 is out of range"),
    ("batchnorm axis = [1, 2]", "keras", (5, 8), "single axis"),
])
def test_bad_options(line, convention, shape, message):
    with pytest.raises(SymparamError, match=message) as err:
        symparam.analyze(layer_source(line, shape, convention))
    assert "line 4" in str(err.value)


def _opts(**kw) -> str:
    text = ", ".join(f"{key} = {str(val).lower()}" for key, val in kw.items())
    return " " + text if text else ""


# ---- Keras 3 ------------------------------------------------------------------------
SWITCHES = list(itertools.product((True, False), (True, False)))  # center, scale


@pytest.mark.oracle
@pytest.mark.parametrize("center, scale", SWITCHES)
@pytest.mark.parametrize("shape, axis", [((6,), -1), ((5, 6), -1), ((5, 6), 1),
                                         ((4, 5, 3), -1), ((4, 5, 3), [1, 3])])
def test_keras_batch_and_layer_norm(center, scale, shape, axis):
    import keras
    line_axis = f"axis = {axis}"
    opts = _opts(center=center, scale=scale)[1:]
    ln = keras.layers.LayerNormalization(axis=axis, center=center, scale=scale)
    if isinstance(axis, int):  # Keras 3's BatchNormalization takes one axis only
        bn = keras.layers.BatchNormalization(axis=axis, center=center, scale=scale)
        assert (measure_symparam(f"batchnorm {line_axis}, {opts}", shape, "keras")
                == measure_keras(bn, shape))
    # Keras's LayerNormalization over axes that do not end at the last one fails in a
    # forward pass on the torch backend (torch.layer_norm normalizes trailing axes):
    # its declared shape and weights are still Keras's answer.
    trailing = axis == -1 or axis == len(shape)
    assert (measure_symparam(f"layernorm {line_axis}, {opts}", shape, "keras")
            == measure_keras(ln, shape, forward=trailing))


@pytest.mark.oracle
@pytest.mark.parametrize("center, scale", SWITCHES)
@pytest.mark.parametrize("groups, shape", [(1, (5, 8)), (2, (5, 8)), (4, (3, 3, 8)),
                                           (8, (2, 2, 2, 8)), (-1, (5, 6))])
def test_keras_group_norm(center, scale, groups, shape):
    import keras
    layer = keras.layers.GroupNormalization(groups=groups, center=center, scale=scale)
    assert (measure_symparam(f"groupnorm {groups}," + _opts(center=center, scale=scale),
                             shape, "keras") == measure_keras(layer, shape))


@pytest.mark.oracle
@pytest.mark.filterwarnings("ignore:You passed `rms_scaling=True`")
@pytest.mark.parametrize("shape, axis", [((7,), -1), ((5, 6), -1), ((5, 6), [1, 2]),
                                         ((4, 5, 3), 2)])
def test_keras_rms_norm(shape, axis):
    import keras
    trailing = axis != 2  # as for LayerNormalization: no forward pass over inner axes
    layer = keras.layers.RMSNormalization(axis=axis)
    mine = measure_symparam(f"rmsnorm axis = {axis}", shape, "keras")
    assert mine == measure_keras(layer, shape, forward=trailing)
    # The deprecated LayerNormalization(rms_scaling=True) learns the same one scale.
    with pytest.warns(UserWarning, match="deprecated"):
        old = keras.layers.LayerNormalization(axis=axis, rms_scaling=True)
    assert mine == measure_keras(old, shape, forward=trailing)


# ---- PyTorch ------------------------------------------------------------------------
SHAPES = [(6,), (6, 7), (6, 4, 5), (6, 3, 4, 5)]   # (C,) (C, L) (C, H, W) (C, D, H, W)
TORCH_SWITCHES = list(itertools.product((True, False), (True, False), (True, False)))


@pytest.mark.oracle
@pytest.mark.parametrize("affine, track, bias", TORCH_SWITCHES)
@pytest.mark.parametrize("shape", SHAPES)
def test_torch_batch_norm(affine, track, bias, shape):
    import torch
    cls = getattr(torch.nn, f"BatchNorm{max(1, len(shape) - 1)}d")
    module = cls(6, affine=affine, track_running_stats=track, bias=bias)
    line = "batchnorm" + _opts(affine=affine, track_running_stats=track, bias=bias)
    assert measure_symparam(line, shape, "torch") == measure_torch(module, shape)
    s = symparam.analyze(layer_source(line, shape, "torch"))
    assert s.layers[-1].type == cls.__name__


@pytest.mark.oracle
@pytest.mark.parametrize("affine, track, bias", TORCH_SWITCHES)
@pytest.mark.parametrize("shape", SHAPES[1:])
def test_torch_instance_norm(affine, track, bias, shape):
    import torch
    cls = getattr(torch.nn, f"InstanceNorm{len(shape) - 1}d")
    module = cls(6, affine=affine, track_running_stats=track, bias=bias)
    line = "instancenorm" + _opts(affine=affine, track_running_stats=track, bias=bias)
    assert measure_symparam(line, shape, "torch") == measure_torch(module, shape)
    assert symparam.analyze(layer_source(line, shape, "torch")).layers[-1].type == cls.__name__


@pytest.mark.oracle
@pytest.mark.parametrize("affine, bias", list(itertools.product((True, False), repeat=2)))
@pytest.mark.parametrize("groups, shape", [(1, (6, 5)), (2, (6, 5)), (3, (6, 2, 3)),
                                           (6, (6, 2, 2, 2))])
def test_torch_group_norm(affine, bias, groups, shape):
    import torch
    module = torch.nn.GroupNorm(groups, 6, affine=affine, bias=bias)
    line = f"groupnorm {groups}," + _opts(affine=affine, bias=bias)
    assert measure_symparam(line, shape, "torch") == measure_torch(module, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("affine, bias", list(itertools.product((True, False), repeat=2)))
@pytest.mark.parametrize("shape, axes", [((6,), 1), ((5, 6), 1), ((5, 6), 2),
                                         ((3, 4, 5), 2), ((3, 4, 5), 3)])
def test_torch_layer_and_rms_norm(affine, bias, shape, axes):
    """``axes`` trailing axes normalized: symparam's axis list [r-axes+1 .. r]."""
    import torch
    trailing = shape[len(shape) - axes:]
    axis = list(range(len(shape) - axes + 1, len(shape) + 1))
    ln = torch.nn.LayerNorm(trailing, elementwise_affine=affine, bias=bias)
    line = f"layernorm axis = {axis}," + _opts(elementwise_affine=affine, bias=bias)
    assert measure_symparam(line, shape, "torch") == measure_torch(ln, shape)
    rms = torch.nn.RMSNorm(trailing, elementwise_affine=affine)
    line = f"rmsnorm axis = {axis}," + _opts(elementwise_affine=affine)
    assert measure_symparam(line, shape, "torch") == measure_torch(rms, shape)
