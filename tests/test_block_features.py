"""Block conveniences: ``if``/``elif``/``else``, the tensor's size (``in.channels``,
``in.shape[i]``), ``repeat 0`` and the hard activations; random conditional blocks
built in Keras and PyTorch by evaluating the same conditions in Python.

The oracle tests skip (fail in CI) without torch and keras (conftest.py).
"""
from __future__ import annotations

import random

import numpy as np
import pytest

import symparam
from symparam import SourceError
from symparam.formulas import read_condition


def _count(src: str, **kw) -> int:
    s = symparam.analyze(src, **kw)
    return s.value(s.total)


def _shape(src: str, **kw) -> tuple:
    s = symparam.analyze(src, **kw)
    return s.shape_at(s.layers[-1].output_shape)


# ---- the tensor's size ------------------------------------------------------------------

@pytest.mark.parametrize("layout, shape, expr, value", [
    ("channels_last", "[5, 6, 7]", "in.channels", 7),
    ("channels_first", "[5, 6, 7]", "in.channels", 5),
    ("channels_last", "[5, 6, 7]", "in.shape[1]", 5),     # axis 0 is the batch
    ("channels_last", "[5, 6, 7]", "in.shape[-1]", 7),
    ("channels_last", "[5, 6, 7]", "in.shape[-3] * in.shape[2]", 30),
    ("channels_last", "[5, 6, 7]", "a.channels // 2 + 1", 4),  # a named tensor
    ("channels_last", "[5, 6, 7]", "max(8, in.channels)", 8),
])
def test_sizes_read_from_the_tensor(layout, shape, expr, value):
    src = f"model m():\n    layout {layout}\n    input {shape} as a\n    dense {expr}\n"
    assert _shape(src) == (5, 6, value)


def test_in_is_the_tensor_each_statement_reads():
    src = ("block b():\n    let c = in.channels\n    dense 2 * in.channels\n"
           "    dense in.channels + c\n\nmodel m(n = 3):\n    input [n]\n    b\n")
    # in.channels: n, then 2n after the first dense; c stays n.
    s = symparam.analyze(src, symbolic=True)
    assert str(s.layers[-1].output_shape[0]) == "3*n"


def test_a_block_argument_and_default_read_the_blocks_input():
    src = ("block b(f, g = in.channels // 2):\n    dense f + g\n\n"
           "model m():\n    input [8]\n    b in.channels\n")
    assert _shape(src) == (12,)


@pytest.mark.parametrize("body, message, column", [
    ("dense in.shape[0]", "axis 0 is out of range for a 1-D input", 20),
    ("dense in.shape[2]", "axis 2 is out of range", 20),
    ("dense in.shape", "in.shape needs an axis: `in.shape[-1]`", 11),
    ("dense in.channels[1]", "in.channels is a size: it takes no index", 23),
    ("dense in.chanels", "unknown size 'chanels' of a tensor (did you mean 'channels'?)", 11),
    ("dense b.channels", "unknown tensor 'b'", 11),
])
def test_size_errors_name_their_place(body, message, column):
    with pytest.raises(SourceError) as err:
        symparam.analyze(f"model m():\n    input [4]\n    {body}\n")
    assert message in err.value.message
    assert (err.value.line, err.value.column) == (3, column)


def test_no_tensor_to_read_a_size_from():
    with pytest.raises(SourceError, match="there is no tensor here"):
        symparam.analyze("model m(n = in.channels):\n    input [4]\n")
    with pytest.raises(SourceError, match="there is no tensor yet"):
        symparam.analyze("model m():\n    let c = in.channels\n    input [4]\n")


def test_formulas_and_where_refuse_sizes_and_bare_values():
    for text in ("in.channels > 2", "d", "d > 2 and h"):
        with pytest.raises(SourceError):
            read_condition(text, ["d", "h"])


def test_in_is_a_keyword():
    with pytest.raises(SourceError, match="'in' is a keyword"):
        symparam.analyze("model m():\n    input [4] as in\n")


# ---- if / elif / else -------------------------------------------------------------------

_CHOOSE = """block b(e, act = relu, flag = true):
    if e == 1:
        dense 1
    elif e < 4 and not flag:
        dense 2
    elif act == hard_swish or e > 10:
        dense 3
    else:
        dense 4

model m():
    input [1]
    b {args}
"""


@pytest.mark.parametrize("args, units", [
    ("1", 1), ("2, flag = false", 2), ("2", 4), ("2, hard_swish", 3), ("11", 3),
    ("5, relu, false", 4),
])
def test_the_first_true_condition_chooses(args, units):
    assert _shape(_CHOOSE.format(args=args)) == (units,)


def test_a_let_in_a_body_is_visible_after_it():
    src = ("model m():\n    input [4]\n    if in.channels > 2:\n        let u = 5\n"
           "    else:\n        let u = 6\n    dense u\n")
    assert _shape(src) == (5,)


def test_an_if_without_else_may_do_nothing():
    src = "model m():\n    input [4]\n    if 1 > 2:\n        dense 9\n"
    s = symparam.analyze(src)
    assert [layer.kind for layer in s.layers] == ["input"]


def test_a_layer_refused_in_a_body_not_taken_is_still_refused():
    src = "model m():\n    input [4]\n    if 1 > 2:\n        dense 9, bogus = 1\n"
    with pytest.raises(SourceError, match="unknown argument 'bogus'"):
        symparam.analyze(src)


@pytest.mark.parametrize("cond, message", [
    ("3", "a condition is true or false, or a comparison"),
    ("true < 2", "< compares numbers, not true"),
    ("relu == 2", "undefined symbol 'relu'"),
    ("hh == 2", "undefined symbol 'hh'"),
])
def test_condition_errors(cond, message):
    src = f"model m(h = 2):\n    input [4]\n    if {cond}:\n        dense 9\n"
    with pytest.raises(SourceError) as err:
        symparam.analyze(src)
    assert message in err.value.message and err.value.line == 3


def test_a_condition_on_a_symbol_is_decided_by_its_value_and_kept():
    src = ("model m(H = 8):\n    input [H, 3]\n    if H > 4:\n        dense 5\n"
           "    else:\n        dense 6\n")
    assert _count(src) == 20 and _count(src, values={"H": 3}) == 24
    # Without a value, it cannot choose.
    with pytest.raises(SourceError) as err:
        symparam.analyze(src, symbolic=True)
    assert err.value.line == 3 and "depends on the symbol H, which has no value" in \
        err.value.message
    # Analyzed at H = 8, its stats hold where the condition keeps its truth: a value
    # that flips it is refused, as a check.
    s = symparam.analyze(src)
    (cond, message, where), = s.checks
    (H,) = s.symbols
    assert (where.line, bool(cond.subs(H, 3)), bool(cond.subs(H, 9))) == (3, False, True)
    assert "was true at H = 8" in message()


# ---- repeat 0 ---------------------------------------------------------------------------

def test_repeat_zero_leaves_the_tensor_unchanged():
    src = ("block stage(n):\n    dense 8\n    repeat n - 1:\n        dense 8\n\n"
           "model m():\n    input [4]\n    stage 1\n    repeat 0:\n        dense 3\n")
    s = symparam.analyze(src)
    assert s.shape_at(s.layers[-1].output_shape) == (8,)
    assert s.value(s.total) == 40


# ---- the hard activations ---------------------------------------------------------------

@pytest.mark.oracle
@pytest.mark.parametrize("name, torch_class, keras_name", [
    ("hard_swish", "Hardswish", "hard_swish"),
    ("hard_silu", "Hardswish", "hard_silu"),
    ("hard_sigmoid", "Hardsigmoid", "hard_sigmoid"),
])
def test_hard_activations_are_the_frameworks(name, torch_class, keras_name, frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    src = f"model m():\n    input [64]\n    {name}\n"
    k, t = symparam.analyze(src), symparam.analyze(src, convention="torch")
    assert (k.layers[-1].type, t.layers[-1].type) == ("Activation", torch_class)
    from symparam.activations import ACTIVATIONS
    x = np.linspace(-5, 5, 64, dtype=np.float32)
    ours = ACTIVATIONS[name].forward(x)
    theirs = getattr(torch.nn, torch_class)()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    keras_out = np.asarray(keras.activations.get(keras_name)(x))
    np.testing.assert_allclose(ours, keras_out, atol=1e-6)


# ---- random conditional blocks against the frameworks -----------------------------------

_BLOCK = """block b(e, f, se_on, act):
    let c = in.channels
    if e != 1 and c < 12:
        conv2d c * e, 1, bias = false
        batchnorm
    elif e != 1:
        conv2d c * e // 2, 1
    else:
        identity
    if not se_on or c > f:
        conv2d f, 3, padding = same
    else:
        conv2d f, 1
    if act == relu:
        relu
    else:
        hard_swish
    repeat e - 1:
        batchnorm
"""


def _random_calls(rng: random.Random):
    return [(rng.choice([1, 2, 3]), rng.randint(2, 16), rng.choice([True, False]),
             rng.choice(["relu", "hard_swish"])) for _ in range(rng.randint(1, 4))]


def _source(calls, c0: int) -> str:
    lines = [_BLOCK, "model m():", f"    input [8, 8, {c0}]"]
    for e, f, se_on, act in calls:
        lines.append(f"    b {e}, {f}, {'true' if se_on else 'false'}, {act}")
    return "\n".join(lines) + "\n"


def _frameworks_models(calls, c0, keras, torch):
    """The same layers, chosen by the same conditions evaluated in Python."""
    nn, kl = torch.nn, keras.layers
    x = keras.Input((8, 8, c0))
    y, mods, c = x, [], c0
    for e, f, se_on, act in calls:
        if e != 1 and c < 12:
            y = kl.BatchNormalization()(kl.Conv2D(c * e, 1, use_bias=False)(y))
            mods += [nn.Conv2d(c, c * e, 1, bias=False), nn.BatchNorm2d(c * e)]
            width = c * e
        elif e != 1:
            y = kl.Conv2D(c * e // 2, 1)(y)
            mods.append(nn.Conv2d(c, c * e // 2, 1))
            width = c * e // 2
        else:
            width = c
        if not se_on or c > f:
            y = kl.Conv2D(f, 3, padding="same")(y)
            mods.append(nn.Conv2d(width, f, 3, padding=1))
        else:
            y = kl.Conv2D(f, 1)(y)
            mods.append(nn.Conv2d(width, f, 1))
        y = kl.ReLU()(y) if act == "relu" else kl.Activation("hard_swish")(y)
        mods.append(nn.ReLU() if act == "relu" else nn.Hardswish())
        for _ in range(e - 1):
            y = kl.BatchNormalization()(y)
            mods.append(nn.BatchNorm2d(f))
        c = f
    return keras.Model(x, y), nn.Sequential(*mods)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(12))
def test_random_conditional_blocks_against_keras_and_torch(seed, frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    rng = random.Random(seed)
    calls, c0 = _random_calls(rng), rng.randint(1, 16)
    src = _source(calls, c0)
    kmodel, tmodel = _frameworks_models(calls, c0, keras, torch)
    k = symparam.analyze(src)
    assert (k.value(k.total), k.value(k.trainable)) == (
        kmodel.count_params(), sum(int(np.prod(w.shape)) for w in kmodel.trainable_weights))
    assert k.shape_at(k.layers[-1].output_shape) == tuple(kmodel.output.shape[1:])
    t = symparam.analyze(src, convention="torch")
    assert (t.value(t.total), t.value(t.buffers)) == (
        sum(p.numel() for p in tmodel.parameters()),
        sum(b.numel() for b in tmodel.buffers()))


# ---- the numbers docs/language.md states ------------------------------------------------

def test_language_md_vision_sections_numbers():
    from pathlib import Path
    import re
    text = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text(
        encoding="utf-8")
    blocks = re.findall(r"```symparam\n(.*?)```", text, re.S)
    se = symparam.analyze(next(b for b in blocks if "model squeeze_excite" in b))
    params = {layer.name: se.value(layer.params) for layer in se.layers}
    assert params["conv2d"] == 36_928 and params["conv2d_1"] + params["conv2d_2"] == 2_128
    assert "2,128" in text and "36,928" in text
    mb = symparam.analyze(next(b for b in blocks if "model net(H = 32, W = 32):\n    input "
                               "[H, W, 16]" in b))
    convs = [mb.shape_at(layer.output_shape)[-1] for layer in mb.layers
             if layer.kind == "conv2d"]
    assert convs == [16, 96, 24]  # the second block's expansion has 96 filters
