"""The model zoo against the published counts of the architectures it describes.

Ground truth comes from outside symparam: the counts Keras (``keras.applications``),
torchvision and Hugging Face transformers print for these models, quoted in each zoo
file's header. With Keras installed, the Keras-convention models are also compared
layer by layer with the real ``keras.applications`` builds.
"""
from __future__ import annotations

import math
import os
from collections import Counter

import pytest
import sympy

import symparam
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")

# name -> (total, trainable, non-trainable, buffer elements), as published.
PUBLISHED = {
    # keras.applications.VGG16(weights=None).count_params()
    "vgg16": (138_357_544, 138_357_544, 0, 0),
    # keras.applications.ResNet50: moving means and variances are non-trainable.
    "resnet50": (25_636_712, 25_583_592, 53_120, 0),
    # torchvision.models.resnet18: 20 BatchNorm2d layers keep running_mean and
    # running_var (9,600 values) and num_batches_tracked (20) as buffers.
    "resnet18": (11_689_512, 11_689_512, 0, 9_620),
    # LeNet-5 as framework tutorials build it (checked with Keras below).
    "lenet5": (61_706, 61_706, 0, 0),
}


def zoo_files() -> list[str]:
    return sorted(p.stem for p in ZOO.glob("*.symp"))


def stats(name: str, **kw) -> symparam.ModelStats:
    return symparam.analyze(ZOO / f"{name}.symp", **kw)


def header(name: str) -> str:
    lines = (ZOO / f"{name}.symp").read_text().splitlines()
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line)
    return "\n".join(out)


def test_every_zoo_file_has_a_published_count():
    assert zoo_files(), f"no zoo files in {ZOO}"
    assert set(zoo_files()) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_counts_match_published(name):
    s = stats(name)
    got = tuple(s.value(e) for e in (s.total, s.trainable, s.non_trainable, s.buffers))
    assert got == PUBLISHED[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_header_states_source_and_count(name):
    text = header(name)
    assert text, f"{name}.symp must open with a comment stating its source"
    total = PUBLISHED[name][0]
    assert f"{total:,}" in text, f"{name}.symp's header must state its count {total:,}"


def _diff(expr, symbol_name):
    sym = next(s for s in expr.free_symbols if s.name == symbol_name)
    return sympy.diff(expr, sym), sym


@pytest.mark.parametrize("name, classes_slope, channel_slope", [
    # VGG16's classifier is a 4096-input dense layer: 4096 weights + 1 bias per class;
    # its first convolution has 64 filters of 3 x 3 per input channel.
    ("vgg16", 4097, 64 * 3 * 3),
    # ResNet-50 ends in 2048 channels; conv1 is 64 filters of 7 x 7 (with bias).
    ("resnet50", 2049, 64 * 7 * 7),
    # ResNet-18 ends in 512 channels; its conv1 has no bias.
    ("resnet18", 513, 64 * 7 * 7),
])
def test_linear_in_classes_and_channels(name, classes_slope, channel_slope):
    total = stats(name, symbolic=True).total
    d_k, k = _diff(total, "K")
    assert d_k == classes_slope
    d_c, c = _diff(total, "C")
    assert d_c == channel_slope
    assert sympy.diff(d_k, k) == 0 and sympy.diff(d_c, c) == 0


@pytest.mark.parametrize("name, layer, shape", [
    # The papers' feature maps before the classifier: 7 x 7 at 224 x 224 input.
    ("vgg16", "block5", (7, 7, 512)),
    ("resnet50", "conv5", (7, 7, 2048)),
    ("resnet18", "layer4", (512, 7, 7)),
    ("lenet5", "C5", (1, 1, 120)),
])
def test_feature_map_shapes(name, layer, shape):
    s = stats(name)
    outs = [l for l in s.layers if l.name == layer or (l.path and l.path[0] == layer)]
    assert outs, f"no layer or block named {layer} in {name}"
    assert s.shape_at(outs[-1].output_shape) == shape


# ---- the real Keras, where installed -----------------------------------------------

def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras is not installed (oracle test)")


def _layer_counts(s: symparam.ModelStats) -> Counter:
    """How many layers hold each parameter count, repeats counted as often as they stand."""
    out: Counter = Counter()
    for layer in s.layers:
        n, times = s.value(layer.params), s.value(layer.multiplier)
        if n:
            out[n // times] += times
    return out


def _keras_counts(model) -> Counter:
    return Counter(n for n in (layer.count_params() for layer in model.layers) if n)


def _lenet5(keras):
    L = keras.layers
    return keras.Sequential([
        keras.Input((32, 32, 1)), L.Conv2D(6, 5, activation="tanh"), L.AveragePooling2D(2),
        L.Conv2D(16, 5, activation="tanh"), L.AveragePooling2D(2),
        L.Conv2D(120, 5, activation="tanh"), L.Flatten(), L.Dense(84, activation="tanh"),
        L.Dense(10, activation="softmax")])


KERAS_BUILDS = {
    "vgg16": lambda keras: keras.applications.VGG16(weights=None),
    "resnet50": lambda keras: keras.applications.ResNet50(weights=None),
    "lenet5": _lenet5,
}


@pytest.mark.oracle
@pytest.mark.parametrize("name", sorted(KERAS_BUILDS))
def test_layer_by_layer_against_keras(name):
    keras = _keras()
    model = KERAS_BUILDS[name](keras)
    s = stats(name)
    assert s.value(s.total) == model.count_params()
    assert s.value(s.trainable) == sum(math.prod(w.shape) for w in model.trainable_weights)
    assert _layer_counts(s) == _keras_counts(model)
    assert s.shape_at(s.layers[-1].output_shape) == tuple(model.output_shape[1:])
