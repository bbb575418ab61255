"""The seed models (docs/examples) built in Keras 3 and PyTorch 2.13.

The published numbers come from the seed questions (../shared/seeds). Keras, in the
keras convention, must print exactly those numbers, and so must symparam; PyTorch, in
the torch convention, must agree with symparam's torch numbers, where BatchNorm's
running statistics are buffers, not parameters.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import symparam

from oracle.compare import differences
from oracle.graph import build_graph

pytestmark = pytest.mark.oracle

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"

# (file, model) -> the seed's published numbers: totals, and per layer
# (params, output shape without the batch axis) where the seed shows them.
PUBLISHED = {
    ("seed000", "mlp"): {
        "totals": (2_140_752, 2_139_728, 1_024),
        "layers": {"dense": (2_097_664, None), "batch_normalization": (2_048, None),
                   "dense_1": (41_040, None)}},
    ("seed001", "myModel"): {
        "totals": (37_633, 37_569, 64),
        "layers": {"zero_padding2d": (0, (70, 70, 3)), "conv0": (4_736, (64, 64, 32)),
                   "bn0": (128, None), "max_pool": (0, (32, 32, 32)),
                   "flatten": (0, (32_768,)), "fc": (32_769, None)}},
    ("seed002", "sequential"): {
        "totals": (539, 539, 0),
        "layers": {"layer1": (514, None), "layer2": (9, None), "layer3": (16, None)}},
    ("seed004", "mnist"): {"totals": (7_850, 7_850, 0), "layers": {"dense": (7_850, None)}},
    ("seed004", "wide"): {
        "totals": (397_065, 397_065, 0),
        "layers": {"dense": (264_710, None), "dense_1": (132_355, None)}},
    ("seed004", "convs"): {
        "totals": (94_538, 94_538, 0),
        "layers": {"conv2d": (896, None), "conv2d_1": (18_496, None),
                   "conv2d_2": (73_856, None), "dense": (1_290, (218, 218, 10))}},
}


def _analyze(key, convention):
    return symparam.analyze(symparam.parse_file(EXAMPLES / f"{key[0]}.symp"),
                            model=key[1], convention=convention)


def test_every_seed_model_is_covered():
    found = {(p.stem, m) for p in EXAMPLES.glob("seed*.symp")
             for m in symparam.parse_file(p).models}
    assert found == set(PUBLISHED)


@pytest.mark.parametrize("key", sorted(PUBLISHED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_keras_prints_the_seed_numbers_and_so_does_symparam(key, frameworks):
    from oracle import keras_build
    stats = _analyze(key, "keras")
    graph = build_graph(stats)
    keras = keras_build.measure(graph)
    want = PUBLISHED[key]
    for source in ({k: graph.totals[k] for k in graph.totals}, keras.totals):
        assert (source["total"], source["trainable"], source["non_trainable"]) \
            == want["totals"]
    for name, (params, shape) in want["layers"].items():
        got = keras.nodes[name]
        assert got["trainable"] + got["non_trainable"] == params, name
        assert stats.value(next(x for x in stats.layers if x.name == name).params) \
            == params, name
        if shape is not None:
            assert got["shape"] == shape == got["forward_shape"], name
    assert differences(graph, keras) == []


@pytest.mark.parametrize("key", sorted(PUBLISHED), ids=lambda k: f"{k[0]}-{k[1]}")
def test_pytorch_agrees_with_symparams_torch_convention(key, frameworks):
    from oracle import torch_build
    graph = build_graph(_analyze(key, "torch"))
    torch = torch_build.measure(graph)
    assert differences(graph, torch) == []
    # BatchNorm: PyTorch keeps the running statistics as buffers, so its parameter
    # count is the Keras total less Keras's non-trainable statistics, and the buffers
    # are those statistics plus one num_batches_tracked counter per BatchNorm.
    total, trainable, non_trainable = PUBLISHED[key]["totals"]
    batchnorms = sum(1 for n in graph.nodes if n.kind == "batchnorm")
    assert torch.totals["total"] == total - non_trainable == trainable
    assert torch.totals["buffers"] == non_trainable + batchnorms


# ---- the zoo ------------------------------------------------------------------------
# Every zoo model, layer by layer, in its own convention's framework and (where
# symparam accepts it) in the other's. Keras builds symbolically (no forward pass: VGG16
# and ResNet-50 are big); PyTorch builds on the meta device (shapes, no data), so even
# GPT-2 and BERT cost no memory, and runs a forward pass there.

ZOO = Path(__file__).resolve().parent.parent / "zoo"
# The mixtures of experts (a `moe` statement: router and expert_mix, which the oracle's
# builders do not build yet) are checked against transformers in tests/test_moe.py.
ZOO_MODELS = sorted((p.stem, m) for p in ZOO.glob("*.symp")
                    if not re.search(r"^\s*moe ", p.read_text(), re.M)
                    for m in symparam.parse_file(p).models)


@pytest.mark.parametrize("key", ZOO_MODELS, ids=lambda k: f"{k[0]}-{k[1]}")
def test_zoo_model_layer_by_layer(key, frameworks):
    from oracle import keras_build, torch_build
    doc = symparam.parse_file(ZOO / f"{key[0]}.symp")
    own = symparam.analyze(doc, model=key[1]).convention
    for convention in (own, {"keras": "torch", "torch": "keras"}[own]):
        try:
            stats = symparam.analyze(doc, model=key[1], convention=convention)
        except symparam.SymparamError:
            assert convention != own
            continue
        if convention == "keras" != own and stats.value(stats.total) > 2 * 10**9:
            continue  # Keras allocates real weights: billions of them do not fit here
        graph = build_graph(stats)
        if convention == "keras":
            measured = keras_build.measure(graph, forward=False)
        else:
            measured = torch_build.measure(graph, device="meta")
        assert differences(graph, measured) == [], (key, convention)
