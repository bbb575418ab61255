"""PReLU, upsampling, position embeddings, take and permute: formulas and shapes derived
by hand, then against Keras 3 and PyTorch."""
from __future__ import annotations

import pytest
import sympy

import symparam
from layer_oracle import layer_source, measure_keras, measure_symparam, measure_torch
from symparam import SymparamError

H, W, C, T, d, L = (sympy.Symbol(s, integer=True, positive=True) for s in "H W C T d L".split())
SYMBOLS = "H = 6, W = 5, C = 4, T = 7, d = 8, L = 16"


def symbolic(line: str, convention: str, shape):
    src = layer_source(line, shape, convention, SYMBOLS)
    return symparam.analyze(src, symbolic=True).layers[-1]


# ---- by hand ------------------------------------------------------------------------
@pytest.mark.parametrize("line, convention, shape, params, out", [
    # Keras's PReLU: one slope per element, one per channel when space is shared.
    ("prelu", "keras", ("H", "W", "C"), H * W * C, (H, W, C)),
    ("prelu shared_axes = [1, 2]", "keras", ("H", "W", "C"), C, (H, W, C)),
    # PyTorch's: one slope, or one per channel.
    ("prelu", "torch", ("C", "H", "W"), 1, (C, H, W)),
    ("prelu num_parameters = C", "torch", ("C", "H", "W"), C, (C, H, W)),
    ("upsample2d 2", "keras", ("H", "W", "C"), 0, (2 * H, 2 * W, C)),
    ("upsample2d size = [2, 3]", "keras", ("H", "W", "C"), 0, (2 * H, 3 * W, C)),
    ("upsample2d size = [9, 10]", "torch", ("C", "H", "W"), 0, (C, 9, 10)),
    ("upsample1d scale_factor = 3", "torch", ("C", "T"), 0, (C, 3 * T)),
    # A position table: L x d, the stream's shape kept.
    ("position_embedding L", "keras", ("T", "d"), L * d, (T, d)),
    ("position_embedding", "torch", ("T", "d"), T * d, (T, d)),
    ("take 0, axis = 1", "keras", ("T", "d"), 0, (d,)),
    ("take -1, axis = -1", "torch", ("C", "T", "d"), 0, (C, T)),
    ("permute [2, 1]", "keras", ("T", "d"), 0, (d, T)),
    ("permute [3, 1, 2]", "torch", ("C", "H", "W"), 0, (W, C, H)),
])
def test_by_hand(line, convention, shape, params, out):
    layer = symbolic(line, convention, shape)
    assert sympy.expand(layer.params - params) == 0, layer.params
    assert layer.trainable == layer.params and layer.buffers == 0
    assert layer.output_shape == out


def test_prelu_weights_are_data():
    keras_w = symbolic("prelu shared_axes = [1]", "keras", ("T", "d")).weights
    torch_w = symbolic("prelu num_parameters = d", "torch", ("T", "d")).weights
    assert [(w.name, w.shape) for w in keras_w] == [("alpha", (1, d))]
    assert [(w.name, w.shape) for w in torch_w] == [("weight", (d,))]


@pytest.mark.parametrize("line, convention, shape, message", [
    ("prelu num_parameters = 4", "keras", (5, 4),
     "`num_parameters = 4` is a PyTorch option; Keras's PReLU"),
    ("prelu shared_axes = [1]", "torch", (4, 5),
     "`shared_axes = \\[1\\]` is a Keras option; PyTorch's PReLU"),
    ("prelu num_parameters = 3", "torch", (4, 5), "must be 1 or the number of channels 4"),
    ("prelu shared_axes = [0]", "keras", (4, 5), "counted from 1"),
    ("prelu shared_axes = [3]", "keras", (4, 5), "not an axis of a 2-D input"),
    ("upsample2d 1.5", "keras", (4, 4, 3),
     "`factor = 1.5` is a PyTorch option; Keras's UpSampling2D takes whole factors only"),
    ("upsample2d scale_factor = 2, size = [8, 8]", "torch", (3, 4, 4), "not both"),
    ("upsample2d size = 2, scale_factor = 2", "keras", (4, 4, 3), "give the factor once"),
    ("upsample1d", "keras", (4, 4, 3), "expects a 2-D input"),
    ("position_embedding 4", "keras", (5, 8), "longer than the position table"),
    ("position_embedding", "keras", (8,), "at least 2 dimension"),
    ("take 5, axis = 1", "keras", (5, 8), "index 5 is out of range"),
    ("take 0, axis = 3", "keras", (5, 8), "axis 3 is out of range"),
    ("take 0, axis = 0", "keras", (5, 8), "axis 0 is out of range"),
    ("permute [1, 1]", "keras", (5, 8), "each of the axes 1..2 once"),
    ("permute [2, 3, 1]", "keras", (5, 8), "not an axis of a 2-D input"),
    ("permute 1", "keras", (5,), "as a list"),
])
def test_bad_options(line, convention, shape, message):
    with pytest.raises(SymparamError, match=message) as err:
        symparam.analyze(layer_source(line, shape, convention))
    assert "line 4" in str(err.value)


# ---- Keras 3 ------------------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("shape, shared", [
    ((6,), None), ((5, 6), None), ((5, 6), [1]), ((4, 5, 3), [1, 2]), ((4, 5, 3), [3]),
    ((2, 3, 4, 5), [1, 2, 3])])
def test_keras_prelu(shape, shared):
    import keras
    line = "prelu" + (f" shared_axes = {shared}" if shared else "")
    assert (measure_symparam(line, shape, "keras")
            == measure_keras(keras.layers.PReLU(shared_axes=shared), shape))


@pytest.mark.oracle
@pytest.mark.parametrize("rank, size, interpolation", [
    (1, 2, None), (1, 3, None), (2, 2, None), (2, [2, 3], "bilinear"), (2, [1, 4], None),
    (3, 2, None), (3, [1, 2, 3], None)])
def test_keras_upsampling(rank, size, interpolation):
    import keras
    shape = (3,) * rank + (2,)
    extra = {"interpolation": interpolation} if interpolation else {}
    layer = getattr(keras.layers, f"UpSampling{rank}D")(
        tuple(size) if isinstance(size, list) else size, **extra)
    line = f"upsample{rank}d size = {size}" + (f", interpolation = {interpolation}"
                                                if interpolation else "")
    assert measure_symparam(line, shape, "keras") == measure_keras(layer, shape)


@pytest.mark.oracle
@pytest.mark.parametrize("shape, dims", [((5, 6), (2, 1)), ((3, 4, 5), (3, 1, 2)),
                                         ((3, 4, 5), (1, 3, 2)), ((2, 3, 4, 5), (4, 3, 2, 1))])
def test_keras_permute(shape, dims):
    import keras
    assert (measure_symparam(f"permute {list(dims)}", shape, "keras")
            == measure_keras(keras.layers.Permute(dims), shape))


@pytest.mark.oracle
@pytest.mark.parametrize("shape, index, axis", [((5, 6), 0, 1), ((5, 6), -1, 1), ((5, 6), 2, 2),
                                                ((3, 4, 5), 1, -2), ((3, 4, 5), -3, -1)])
def test_keras_take(shape, index, axis):
    import keras
    # keras.ops counts the batch as axis 0, as symparam does: the same axis number.
    fn = lambda t: keras.ops.take(t, index, axis=axis)  # noqa: E731
    assert (measure_symparam(f"take {index}, axis = {axis}", shape, "keras")
            == measure_keras(fn, shape))


@pytest.mark.oracle
@pytest.mark.parametrize("steps, length, dim", [(5, 5, 8), (5, 12, 8), (1, 3, 2)])
def test_keras_position_embedding(steps, length, dim):
    """keras_hub's PositionEmbedding holds one (sequence_length, d) table, exactly an
    Embedding(sequence_length, d) looked up at positions 0..T-1 (keras_hub is not
    installed here: it pulls in TensorFlow)."""
    import keras
    table = keras.layers.Embedding(length, dim)
    assert (measure_symparam(f"position_embedding {length}", (steps, dim), "keras")
            == measure_keras(table, (steps,), dtype="int32"))


# ---- PyTorch ------------------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("shape, n", [((6,), 1), ((6,), 6), ((4, 5), 1), ((4, 5), 4),
                                      ((3, 4, 5), 3), ((3, 2, 2, 2), 1)])
def test_torch_prelu(shape, n):
    import torch
    line = "prelu" + (f" num_parameters = {n}" if n != 1 else "")
    assert (measure_symparam(line, shape, "torch")
            == measure_torch(torch.nn.PReLU(num_parameters=n), shape))


@pytest.mark.oracle
@pytest.mark.parametrize("rank, line, kwargs", [
    (1, "scale_factor = 2", {"scale_factor": 2}),
    (1, "3, mode = linear", {"scale_factor": 3, "mode": "linear"}),
    (1, "1.5", {"scale_factor": 1.5}),
    (2, "scale_factor = 2, mode = bilinear", {"scale_factor": 2, "mode": "bilinear"}),
    (2, "[2, 3]", {"scale_factor": (2, 3)}),
    (2, "size = [9, 4]", {"size": (9, 4)}),
    (3, "2", {"scale_factor": 2}),
    (3, "size = [4, 5, 6], mode = trilinear", {"size": (4, 5, 6), "mode": "trilinear"}),
])
def test_torch_upsample(rank, line, kwargs):
    import torch
    shape = (2,) + (7,) * rank
    assert (measure_symparam(f"upsample{rank}d {line}", shape, "torch")
            == measure_torch(torch.nn.Upsample(**kwargs), shape))


def _torch_module(fn):
    import torch

    class Fn(torch.nn.Module):
        def forward(self, x):
            return fn(x)
    return Fn()


@pytest.mark.oracle
@pytest.mark.parametrize("shape, dims", [((5, 6), (2, 1)), ((3, 4, 5), (3, 1, 2)),
                                         ((2, 3, 4, 5), (4, 3, 2, 1))])
def test_torch_permute_and_take(shape, dims):
    """symparam's axes count the batch as 0, as torch's dims do: x.permute(0, *dims)
    and x.select(axis, index)."""
    module = _torch_module(lambda x: x.permute(0, *dims))
    assert (measure_symparam(f"permute {list(dims)}", shape, "torch")
            == measure_torch(module, shape))
    for axis in range(1, len(shape) + 1):
        module = _torch_module(lambda x: x.select(axis, -1))  # noqa: B023 (called at once)
        assert (measure_symparam(f"take -1, axis = {axis}", shape, "torch")
                == measure_torch(module, shape))


@pytest.mark.oracle
@pytest.mark.parametrize("steps, length, dim", [(5, None, 8), (5, 12, 8), (1, 3, 2)])
def test_torch_position_embedding(steps, length, dim):
    """GPT-2's ``wpe``: an nn.Embedding(n_positions, d) added at positions 0..T-1."""
    import torch

    class AddPositions(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wpe = torch.nn.Embedding(length or steps, dim)

        def forward(self, x):
            return x + self.wpe(torch.arange(x.shape[1]))

    line = "position_embedding" + (f" {length}" if length else "")
    assert (measure_symparam(line, (steps, dim), "torch")
            == measure_torch(AddPositions(), (steps, dim)))
