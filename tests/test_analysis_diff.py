"""Differences between models: Keras's ResNet-50 against torchvision's (79,680 =
26,560 convolution biases + 53,120 BatchNormalization statistics), and one model
under both conventions."""
from __future__ import annotations

from pathlib import Path

import pytest
import sympy

from symparam import analyze
from symparam.analysis.diff import diff

ROOT = Path(__file__).resolve().parents[1]
KERAS_RESNET50 = (ROOT / "zoo" / "resnet50.symp").read_text()

TORCH_RESNET50 = (ROOT / "benchmarks" / "models" / "resnet50_torchvision.symp").read_text()


@pytest.fixture(scope="module")
def keras_vs_torchvision():
    a, b = analyze(KERAS_RESNET50), analyze(TORCH_RESNET50)
    assert a.value(a.total) == 25_636_712 and b.value(b.total) == 25_557_032  # published
    return diff(a, b)


def test_resnet50_difference_is_biases_plus_statistics(keras_vs_torchvision):
    d = keras_vs_torchvision
    assert d.values["params"] == 79_680
    by_kind = {(k, r): v for k, r, _, v in d.by_kind}
    assert by_kind[("conv2d", "trainable")] == 26_560      # one bias per output channel
    assert by_kind[("batchnorm", "non_trainable")] == 53_120
    # torchvision keeps the statistics as buffers, plus one counter per BatchNorm2d (53).
    assert by_kind[("batchnorm", "buffers")] == -(53_120 + 53)


def test_resnet50_layers_pair_up(keras_vs_torchvision):
    d = keras_vs_torchvision
    convs = [ld for ld in d.layers if ld.kind == "conv2d"]
    assert all(ld.a is not None and ld.b is not None for ld in convs)
    # 53 convolutions, some standing in repeats (a multiplier, not unrolled).
    assert sum(int(ld.a.multiplier) for ld in convs) == 53
    # Every convolution differs by exactly its bias: its number of filters.
    for ld in convs:
        assert ld.delta["params"] == ld.a.output_shape[-1] * ld.a.multiplier
    # Keras pads with ZeroPadding2D layers; torchvision pads inside the convolution.
    only_a = [ld.kind for ld in d.layers if ld.b is None]
    assert only_a == ["zeropad2d", "zeropad2d"]


def test_one_model_two_conventions_symbolically():
    src = "model m(n = 8, h = 4):\n    input [n]\n    dense h\n    batchnorm\n"
    d = diff(analyze(src, convention="keras"), analyze(src, convention="torch"))
    h = sympy.Symbol("h", integer=True, positive=True)
    assert d.total["params"] == 2 * h          # Keras's moving mean and variance
    assert d.total["trainable"] == 0
    assert d.total["buffers"] == -2 * h - 1    # running stats + num_batches_tracked
    changed = [ld.name for ld in d.layers if ld.changed]
    assert changed == ["batch_normalization"]


def test_identical_models_have_no_difference():
    a = analyze(KERAS_RESNET50)
    d = diff(a, analyze(KERAS_RESNET50))
    assert not any(ld.changed for ld in d.layers)
    assert all(v == 0 for v in d.total.values())
