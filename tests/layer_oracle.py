"""One layer measured three ways: by symparam, by Keras 3 and by PyTorch.

Shared by tests/test_layers_conv.py, test_layers_norm.py and test_layers_misc.py.
Each ``measure_*`` returns the same record, so a test is one equality:

    {"trainable": int, "non_trainable": int, "buffers": int,
     "weights": sorted weight shapes, "shape": output shape without the batch}

The frameworks are imported only inside the functions (conftest sets
KERAS_BACKEND=torch first, and skips or fails oracle tests without them).
"""
from __future__ import annotations

import math

import symparam


def layer_source(line: str, shape, convention: str, symbols: str = "") -> str:
    """A one-layer model in symparam's language, the input written in the
    convention's own layout (channels last for Keras, first for PyTorch)."""
    dims = ", ".join(str(d) for d in shape)
    return (f"convention {convention}\nmodel m({symbols}):\n"
            f"    input [{dims}]\n    {line}\n")


def measure_symparam(line: str, shape, convention: str) -> dict:
    s = symparam.analyze(layer_source(line, shape, convention))
    layer = s.layers[-1]
    return {
        "trainable": s.value(s.trainable),
        "non_trainable": s.value(s.non_trainable),
        "buffers": s.value(s.buffers),
        "weights": sorted(tuple(int(d) for d in w.shape) for w in layer.weights),
        "shape": tuple(int(d) for d in layer.output_shape),
    }


def measure_keras(layers, shape, forward: bool = True, dtype: str = "float32") -> dict:
    """Keras layers or functions of a tensor (one, or a list applied in turn) on an
    input of ``shape``; with ``forward``, a forward pass must give the shape Keras
    declares."""
    import keras
    import numpy as np

    layers = layers if isinstance(layers, (list, tuple)) else [layers]
    x = keras.Input(tuple(shape), dtype=dtype)
    y = x
    for layer in layers:
        y = layer(y)
    model = keras.Model(x, y)
    if forward:
        out = model(np.zeros((1, *shape), dtype=dtype))
        assert tuple(out.shape[1:]) == tuple(y.shape[1:]), (out.shape, y.shape)
    return {
        "trainable": sum(math.prod(w.shape) for w in model.trainable_weights),
        "non_trainable": sum(math.prod(w.shape) for w in model.non_trainable_weights),
        "buffers": 0,
        "weights": sorted(tuple(w.shape) for w in model.weights),
        "shape": tuple(y.shape[1:]),
    }


def measure_torch(module, shape) -> dict:
    """A torch module run (in eval mode) on a batch of two of ``shape`` (two: a
    BatchNorm without running statistics needs more than one value per channel)."""
    import torch

    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(2, *shape))
    params = list(module.parameters())
    return {
        "trainable": sum(p.numel() for p in params if p.requires_grad),
        "non_trainable": sum(p.numel() for p in params if not p.requires_grad),
        "buffers": sum(b.numel() for b in module.buffers()),
        "weights": sorted(tuple(t.shape) for t in [*params, *module.buffers()]),
        "shape": tuple(out.shape[1:]),
    }
