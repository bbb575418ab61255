"""Differential tests: random architectures, counted by symparam and by the frameworks.

Each random model is written as symparam source text (so the language itself is
exercised), analyzed in the convention it is written for, built in that convention's
framework (Keras 3 on torch, or PyTorch 2.13), and compared: total, trainable,
non-trainable, buffers, and every layer's counts and output shape (symbolic and from a
forward pass). When symparam also accepts the model in the other convention, it is
built in the other framework and compared as well.

    SYMPARAM_DIFF_SEED   first seed (default 20261121); model i uses seed + i
    SYMPARAM_DIFF_COUNT  how many models (default 500)

A failure prints the seed, the model's source, the differences, and the smallest
model (lines removed) that still fails. Reproduce one with
``SYMPARAM_DIFF_SEED=<seed> SYMPARAM_DIFF_COUNT=1 python3 -m pytest tests/test_differential.py``.
"""
from __future__ import annotations

import os
import warnings

import pytest
import symparam

from oracle.generate import generate
from oracle.graph import build_graph
from oracle.shrink import shrink

pytestmark = pytest.mark.oracle

SEED = int(os.environ.get("SYMPARAM_DIFF_SEED", "20261121"))
COUNT = int(os.environ.get("SYMPARAM_DIFF_COUNT", "500"))
OTHER = {"keras": "torch", "torch": "keras"}


@pytest.fixture(scope="module")
def check(frameworks):
    from oracle.check import check as run
    warnings.filterwarnings("ignore", module="keras")
    return run


def _failing(check, convention):
    """A test for the shrinker: does this text still analyze and still disagree?"""
    def fails(text: str) -> bool:
        try:
            return bool(check(text, convention))
        except symparam.SymparamError:
            return False
    return fails


def _report(seed, convention, source, diffs, check) -> str:
    small = shrink(source, _failing(check, convention))
    return (f"symparam and {convention}'s framework disagree on random model seed={seed} "
            f"(reproduce: SYMPARAM_DIFF_SEED={seed} SYMPARAM_DIFF_COUNT=1)\n"
            f"--- source (counted in convention {convention}) ---\n{source}"
            f"--- differences ---\n" + "\n".join(diffs[:20]) +
            f"\n--- smallest failing model ---\n{small}"
            f"--- its differences ---\n" + "\n".join(check(small, convention)[:20]))


@pytest.mark.parametrize("seed", [SEED + i for i in range(COUNT)],
                         ids=lambda s: f"seed{s}")
def test_random_model(seed, check):
    convention = "keras" if seed % 2 == 0 else "torch"
    source = generate(seed, convention)
    try:
        diffs = check(source)
    except symparam.SymparamError as err:
        pytest.fail(f"symparam rejected a valid random model (seed={seed}):\n{err}\n"
                    f"--- source ---\n{source}")
    assert not diffs, _report(seed, convention, source, diffs, check)
    # The same text counted in the other convention, when symparam accepts it there
    # (the layout stays the one the file is written in).
    other = OTHER[convention]
    try:
        diffs = check(source, other)
    except symparam.SymparamError:
        return
    assert not diffs, _report(seed, other, source, diffs, check)


@pytest.mark.parametrize("seed", [SEED + i for i in range(0, COUNT, 5)],
                         ids=lambda s: f"seed{s}")
def test_random_model_at_other_values(seed, check):
    """The formulas, not just the numbers at the defaults: every symbol one larger
    (floors and ceilings land elsewhere), when symparam accepts those values."""
    convention = "keras" if seed % 2 == 0 else "torch"
    source = generate(seed, convention)
    defaults = symparam.analyze(source).values
    values = {str(s): int(v) + 1 for s, v in defaults.items()}
    try:
        diffs = check(source, values=values)
    except symparam.SymparamError:
        return  # e.g. a reshape that no longer divides: not a model for these values
    assert not diffs, (f"at {values}:\n" + "\n".join(diffs) + f"\n--- source ---\n{source}")


# ---- the oracle itself ----------------------------------------------------------------

def test_the_generator_is_deterministic_and_varied():
    texts = [generate(SEED + i, "torch") for i in range(40)]
    assert texts == [generate(SEED + i, "torch") for i in range(40)]
    joined = "\n".join(texts)
    for feature in ("residual:", "branches ", "repeat ", "block ", "let ", " as t",
                    "conv2d", "conv1d", "conv3d", "pool", "from "):
        assert feature in joined, feature


def test_a_rolled_repeat_expands_into_copies():
    stats = symparam.analyze("model m(N = 3, h = 4):\n    input [h]\n    repeat N:\n"
                             "        dense 2 * h\n        dense h\n")
    assert stats.layers[1].multiplier != 1  # symparam keeps it rolled
    graph = build_graph(stats)
    assert [n.id for n in graph.nodes] == ["input_layer", "dense#0", "dense_1#0",
                                           "dense#1", "dense_1#1", "dense#2", "dense_1#2"]
    assert graph.nodes[3].inputs == ["dense_1#0"]  # copy 1 continues from copy 0


def test_an_unknown_layer_kind_is_an_error_not_a_skip(frameworks):
    from oracle import keras_build, torch_build
    graph = build_graph(symparam.analyze("model m():\n    input [4]\n    dense 2\n"))
    graph.nodes[1].kind = "no_such_kind"
    for builder in (keras_build, torch_build):
        with pytest.raises(NotImplementedError, match="no_such_kind"):
            builder.measure(graph)


def test_a_wrong_count_is_caught(frameworks):
    """The comparison can fail: tamper with symparam's expected count."""
    from oracle import torch_build
    from oracle.compare import differences
    graph = build_graph(symparam.analyze("convention torch\nmodel m():\n    input [4]\n"
                                         "    dense 3\n    batchnorm\n"))
    assert differences(graph, torch_build.measure(graph)) == []
    graph.totals["buffers"] -= 1
    graph.nodes[1].output_shape = (4,)
    diffs = differences(graph, torch_build.measure(graph))
    assert any(d.startswith("buffers: symparam 6, torch 7") for d in diffs)
    assert any("output shape symparam (4,), torch (3,)" in d for d in diffs)


def test_the_shrinker_keeps_the_failure():
    src = generate(SEED, "keras")
    small = shrink(src, lambda s: "input" in s and s.count("\n    ") >= 2)
    assert small.count("\n    ") == 2 and "input" in small


# ---- regressions: mismatches the oracle found in symparam ------------------------------

STRIDE_AND_DILATION = ("model m():\n    input [9, 9, 3]\n"
                       "    conv2d 4, 3, stride = 2, dilation = 2\n")


def test_keras_refuses_stride_with_dilation_and_so_does_symparam(frameworks):
    """Found building the oracle: symparam accepted a strided, dilated convolution in
    convention keras, but Keras's Conv2D and Conv2DTranspose raise ValueError for
    strides > 1 with dilation_rate > 1 (the cross-convention check runs into it)."""
    import keras
    with pytest.raises(ValueError, match="dilation_rate"):
        keras.layers.Conv2D(4, 3, strides=2, dilation_rate=2)
    for layer in ("conv2d 4, 3", "conv2d_transpose 4, 3"):
        text = STRIDE_AND_DILATION.replace("conv2d 4, 3", layer)
        with pytest.raises(symparam.SourceError, match="stride > 1 together with a dilation"):
            symparam.analyze(text, convention="keras")


def test_pytorch_accepts_stride_with_dilation(check):
    assert check(STRIDE_AND_DILATION, "torch") == []


def _kinds_written(count: int) -> set:
    """The layer kinds (canonical names) that the first ``count`` random models use."""
    from symparam.layers import REGISTRY
    found = set()
    for i in range(count):
        for line in generate(i, "keras" if i % 2 == 0 else "torch").splitlines():
            words = line.replace(",", " ").replace(":", " ").split()
            word = words[1] if words[:1] == ["branches"] else (words or [""])[0]
            if word in REGISTRY:
                found.add(REGISTRY[word].names[0])
    return found


def test_every_layer_kind_is_built_and_generated(frameworks):
    """A new layer kind needs one builder per framework (oracle/keras_build.py and
    oracle/torch_build.py) and a place in the generator (oracle/generate.py)."""
    from oracle import keras_build, torch_build
    from symparam.layers import REGISTRY
    # The mixture of experts' steps (the `moe` statement, not written layer by layer)
    # have no builder yet: tests/test_moe.py checks them against transformers.
    kinds = {k.names[0] for k in REGISTRY.values()} - {"router", "expert_mix"}
    assert kinds - set(keras_build.BUILDERS) - set(keras_build.NO_KERAS_LAYER) == set()
    for kind in keras_build.NO_KERAS_LAYER:  # symparam refuses them in convention keras
        with pytest.raises(symparam.SymparamError):
            symparam.analyze(f"model m():\n    input [4, 3]\n    {kind}\n",
                             convention="keras")
    assert kinds - set(torch_build.BUILDERS) == set()
    assert kinds - _kinds_written(1000) == set()


def test_the_oracle_docstring_examples_run():
    """conftest keeps tests/oracle out of doctest collection (the builders import the
    frameworks); the framework-free modules' examples run here."""
    import doctest

    from oracle import compare, generate as gen_module, graph, shrink as shrink_module
    for module in (compare, gen_module, graph, shrink_module):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_the_shrinker_removes_a_residual_with_its_shortcut():
    src = ("model m():\n    input [4]\n    residual:\n        dense 3\n    shortcut:\n"
           "        dense 3\n    dense 2, bias = false\n")
    # a model "still fails" here while a residual keeps its shortcut: the shrinker
    # must take both away at once
    small = shrink(src, lambda s: "input" in s and "bias = false" in s
                   and s.count("residual") == s.count("shortcut"))
    assert small == "model m():\n    input [4]\n    dense 2, bias = false\n"


REUSED_ATTENTION = """model m():
    input [5, 4]
    dense 6 as memory
    from memory
    dense 4
    attention 2, 3, value = memory as att
    reuse att
"""


def test_a_reused_attention_reads_its_value_again(check):
    """Found by the random models (seed 3855): `reuse` of an attention layer dropped
    its value tensor from the layer's inputs, so the graph said the reused layer read
    only the query while its weights came from the value's width. Keras and PyTorch
    need the value again (the same tensor)."""
    stats = symparam.analyze(REUSED_ATTENTION)
    assert stats.layers[-1].inputs == ("att", "memory")
    for convention in ("keras", "torch"):
        source = REUSED_ATTENTION if convention == "keras" else \
            REUSED_ATTENTION.replace("attention 2, 3,", "attention 2,")
        assert check(source, convention) == []
