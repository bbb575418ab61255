"""The vision zoo's EfficientNet-B0 and MobileNetV3-Large against the frameworks that
publish them: torchvision's models built here (weights=None) for parameters and
buffers, its weights enums for the published count and multiply-accumulates
(``_ops``), and keras.applications' models for the Keras convention.

Without torch, keras or torchvision these tests skip, saying why; with ``CI`` set they
fail instead (conftest.py).
"""
from __future__ import annotations

from collections import Counter

import pytest

import symparam
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")

# zoo file -> (torchvision builder, its weights enum, keras.applications class)
MODELS = {
    "efficientnet_b0": ("efficientnet_b0", "EfficientNet_B0_Weights", "EfficientNetB0"),
    "mobilenet_v3_large": ("mobilenet_v3_large", "MobileNet_V3_Large_Weights",
                           "MobileNetV3Large"),
}


def _stats(name: str, convention: str | None = None) -> symparam.ModelStats:
    return symparam.analyze(ZOO / f"{name}.symp", convention=convention)


@pytest.fixture
def torchvision_models(torchvision):  # conftest: register_fake a no-op for the import
    return torchvision.models


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_counts_equal_torchvision(name, torchvision_models):
    builder, weights, _ = MODELS[name]
    model = getattr(torchvision_models, builder)(weights=None)
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in model.buffers())
    s = _stats(name, "torch")
    got = tuple(s.value(e) for e in (s.total, s.trainable, s.non_trainable, s.buffers))
    assert got == (params, trainable, 0, buffers)
    assert params == getattr(torchvision_models, weights).IMAGENET1K_V1.meta["num_params"]
    # The BatchNorm2d layers: as many of each width (a layer of a repeat kept rolled
    # stands for its copies: its multiplier).
    import torch
    widths = Counter(m.num_features for m in model.modules()
                     if isinstance(m, torch.nn.BatchNorm2d))
    mine: Counter = Counter()
    for layer in s.layers:
        if layer.kind == "batchnorm":
            mine[layer.output_shape[0]] += int(layer.multiplier)
    assert mine == widths


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(MODELS))
def test_macs_equal_torchvision_ops(name, torchvision_models):
    """torchvision's ``_ops`` (its model pages' "GFLOPS") are multiply-accumulates at
    224 x 224, to three decimals: the convolutions' and linear layers' (symparam's
    MACs; the SE multiplies, activations and pooling are other operations)."""
    _, weights, _ = MODELS[name]
    published = getattr(torchvision_models, weights).IMAGENET1K_V1.meta["_ops"]
    s = _stats(name)
    assert round(s.value(s.macs) / 1e9, 3) == published


@pytest.mark.parametrize("name, ops", [
    # torchvision's weights enums, as published: EfficientNet_B0_Weights.IMAGENET1K_V1 and
    # MobileNet_V3_Large_Weights.IMAGENET1K_V1 meta["_ops"] (GFLOPS that are
    # multiply-accumulates, at 224 x 224); checked without torchvision installed.
    ("efficientnet_b0", 0.386), ("mobilenet_v3_large", 0.217),
])
def test_published_macs(name, ops):
    s = _stats(name)
    assert round(s.value(s.macs) / 1e9, 3) == ops


def _keras_counts(model, skip: tuple[str, ...] = ()) -> tuple[int, int, int]:
    """(total, trainable, non-trainable) of a Keras model, without the layers of the
    classes in ``skip``."""
    layers = [layer for layer in model.layers if type(layer).__name__ not in skip]
    trainable = sum(int(w.numpy().size) for layer in layers for w in layer.trainable_weights)
    frozen = sum(int(w.numpy().size) for layer in layers
                 for w in layer.non_trainable_weights)
    return trainable + frozen, trainable, frozen


@pytest.mark.oracle
def test_keras_mobilenet_v3_large_counts(frameworks):
    keras = frameworks["keras"]
    model = keras.applications.MobileNetV3Large(weights=None)
    s = _stats("mobilenet_v3_large", "keras")
    got = tuple(s.value(e) for e in (s.total, s.trainable, s.non_trainable))
    assert got == _keras_counts(model) == (model.count_params(), 5_483_032, 24_400)


@pytest.mark.oracle
def test_keras_efficientnet_b0_counts_but_its_normalization(frameworks):
    """keras.applications' EfficientNetB0 opens with a Normalization layer (a mean and
    a variance per channel and a count, non-trainable), which the zoo file, written as
    torchvision builds the model, leaves out: every other weight agrees."""
    keras = frameworks["keras"]
    model = keras.applications.EfficientNetB0(weights=None)
    s = _stats("efficientnet_b0", "keras")
    got = tuple(s.value(e) for e in (s.total, s.trainable, s.non_trainable))
    assert got == _keras_counts(model, skip=("Normalization",))
    assert model.count_params() - s.value(s.total) == 3 + 3 + 1


@pytest.mark.parametrize("name", sorted(MODELS))
def test_linear_in_classes_and_input_channels(name):
    """Symbolic: the classifier adds 1280 + 1 per class, the stem 3 x 3 x 16 or 32 per
    input channel; nothing depends on H or W (global pooling)."""
    s = symparam.analyze(ZOO / f"{name}.symp", symbolic=True)
    free = {str(x) for x in s.total.free_symbols}
    assert free == {"C", "K"}
    poly = s.total.as_poly()
    coeffs = {str(g): poly.coeff_monomial(g) for g in poly.gens}
    stem = 16 if name == "mobilenet_v3_large" else 32
    assert coeffs == {"C": 9 * stem, "K": 1281}
