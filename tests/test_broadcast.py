"""Merges broadcast as NumPy does (symparam/layers/merge.py ``broadcast``): the rule
itself, its checks with symbols, and random merges against Keras's merge layers and
PyTorch's broadcasting operators, built and run here.

The oracle tests skip (fail in CI) without torch and keras (conftest.py).
"""
from __future__ import annotations

import random

import numpy as np
import pytest
import sympy

import symparam
from symparam import SourceError
from symparam.layers.base import ArgError, Context
from symparam.layers.merge import broadcast

H, C, d, e = sympy.symbols("H C d e", integer=True, positive=True)


def _ctx() -> Context:
    return Context("keras", "channels_last")


@pytest.mark.parametrize("shapes, out", [
    ([(4, 5), (1, 5)], (4, 5)),
    ([(4, 1), (1, 5)], (4, 5)),
    ([(3, 4, 5), (5,)], (3, 4, 5)),            # a lower rank gains leading 1s
    ([(3, 1, 5), (4, 1)], (3, 4, 5)),
    ([(1,), (1, 1)], (1, 1)),
    ([(H, H, C), (1, 1, C)], (H, H, C)),       # squeeze-and-excitation's gate
    ([(2, 3), (1, 3), (2, 1)], (2, 3)),        # three tensors
])
def test_broadcast_shapes(shapes, out):
    ctx = _ctx()
    assert broadcast([tuple(map(sympy.sympify, s)) for s in shapes], ctx) == \
        tuple(map(sympy.sympify, out))
    assert ctx.checks == []  # decided without values
    # NumPy agrees on the number cases.
    if all(isinstance(x, int) for s in shapes for x in s):
        assert np.broadcast_shapes(*shapes) == out


def test_sizes_that_only_values_decide_become_checks():
    ctx = _ctx()
    # 12 against d: d must be 12 or 1; the output is 12 either way.
    assert broadcast([(sympy.Integer(12),), (d,)], ctx) == (12,)
    (cond, _message, _where), = ctx.checks
    assert [bool(cond.subs(d, v)) for v in (1, 12, 13)] == [True, True, False]
    # d against e: equal, or either 1; the output is the larger.
    ctx = _ctx()
    assert broadcast([(d,), (e,)], ctx) == (sympy.Max(d, e),)
    (cond, _message, _where), = ctx.checks
    assert [bool(cond.subs({d: a, e: b})) for a, b in ((1, 5), (5, 1), (5, 5), (4, 5))] == \
        [True, True, True, False]


@pytest.mark.parametrize("shapes, message", [
    ([(2,), (3,)], "cannot multiply tensors of shapes (None, 2) and (None, 3): 2 and 3 are "
                   "never equal, and 3 is never 1"),
    ([(d + 1, 4), (2 * d + 2, 4)], "axis -2"),
])
def test_what_can_never_broadcast_is_refused_at_once(shapes, message):
    with pytest.raises(ArgError) as err:
        broadcast([tuple(map(sympy.sympify, s)) for s in shapes], _ctx(), "multiply")
    assert message in str(err.value)


def test_refusal_names_the_line_and_both_shapes():
    src = "model m(n = 4):\n    input [n, 3] as a\n    input [n, 2] as b\n    from a\n    add b\n"
    with pytest.raises(SourceError) as err:
        symparam.analyze(src)
    assert err.value.line == 5
    assert "cannot add tensors of shapes (None, n, 3) and (None, n, 2)" in err.value.message


def test_a_symbolic_merge_waits_for_the_values():
    src = ("model m(d = 12):\n    input [5, 12] as a\n    input [5, d] as b\n    from a\n"
           "    multiply b\n")
    for ok in (12, 1):
        s = symparam.analyze(src, values={"d": ok})
        assert s.shape_at(s.layers[-1].output_shape) == (5, 12)
    with pytest.raises(SourceError, match=r"12 must equal d, or d be 1 \(with d = 7\)"):
        symparam.analyze(src, values={"d": 7})


def test_squeeze_and_excitation_costs_count_the_output():
    src = ("model se(H = 8, W = 8, C = 16):\n    input [H, W, C]\n    branches multiply:\n"
           "        branch:\n            identity\n        branch:\n"
           "            global_avgpool2d keepdims = true\n            conv2d C // 4, 1\n"
           "            relu\n            conv2d C, 1, activation = sigmoid\n")
    s = symparam.analyze(src)
    merge = s.layers[-1]
    assert merge.kind == "multiply"
    assert s.shape_at(merge.output_shape) == (8, 8, 16)
    assert s.value(merge.cost.elementwise) == 8 * 8 * 16  # one product per output element


# ---- random merges against the frameworks -------------------------------------------

_OPS = {"add": "Add", "subtract": "Subtract", "multiply": "Multiply", "average": "Average",
        "maximum": "Maximum", "minimum": "Minimum"}


def _case(rng: random.Random):
    """A merge kind and 2 or 3 shapes that broadcast: each a suffix of a target shape,
    with some sizes set to 1."""
    op = rng.choice(sorted(_OPS))
    target = [rng.randint(2, 5) for _ in range(rng.randint(1, 3))]
    count = 2 if op == "subtract" else rng.randint(2, 3)
    shapes = []
    for _ in range(count):
        rank = rng.randint(1, len(target))
        shapes.append([1 if rng.random() < 0.4 else n for n in target[len(target) - rank:]])
    return op, shapes


def _source(op: str, shapes) -> str:
    lines = ["model m():"]
    lines += [f"    input {list(s)} as t{i}" for i, s in enumerate(shapes)]
    lines += ["    from t0", f"    {op} " + ", ".join(f"t{i}" for i in range(1, len(shapes)))]
    return "\n".join(lines) + "\n"


def _torch_merge(torch, op: str, xs):
    """PyTorch's own operators and broadcasting; a lower-rank input gets its axes of
    size 1 after the batch axis (``x[:, None]``), as Keras's merges expand it."""
    rank = max(x.dim() for x in xs)
    xs = [x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:]) for x in xs]
    out = xs[0]
    for x in xs[1:]:
        if op == "add" or op == "average":
            out = out + x
        elif op == "subtract":
            out = out - x
        elif op == "multiply":
            out = out * x
        elif op == "maximum":
            out = torch.maximum(out, x)
        else:
            out = torch.minimum(out, x)
    return out / len(xs) if op == "average" else out


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(30))
def test_random_merges_against_keras_and_torch(seed, frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    rng = random.Random(seed)
    op, shapes = _case(rng)
    s = symparam.analyze(_source(op, shapes))
    out = s.shape_at(s.layers[-1].output_shape)
    assert out == tuple(np.broadcast_shapes(*map(tuple, shapes)))
    # Keras: the merge layer on inputs of these shapes, run on numbers.
    inputs = [keras.Input(tuple(shape)) for shape in shapes]
    model = keras.Model(inputs, getattr(keras.layers, _OPS[op])()(inputs))
    data = [np.random.default_rng(seed + i).standard_normal((2, *shape)).astype("float32")
            for i, shape in enumerate(shapes)]
    got = np.asarray(model(data))
    assert got.shape[1:] == out
    # PyTorch: the same numbers through its operators.
    expected = _torch_merge(torch, op, [torch.from_numpy(x) for x in data])
    assert tuple(expected.shape[1:]) == out
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-6)
    # The cost counts the output's elements: k - 1 operations each (average: k).
    per = len(shapes) if op == "average" else len(shapes) - 1
    assert s.value(s.layers[-1].cost.elementwise) == per * int(np.prod(out))


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(10))
def test_random_shapes_that_cannot_broadcast_are_refused_as_keras_refuses(seed, frameworks):
    keras = frameworks["keras"]
    rng = random.Random(1000 + seed)
    op, shapes = _case(rng)
    axis = rng.randrange(len(shapes[0]))
    shapes[0][axis] = 7  # never 1, and no other size is 7
    others = [s for s in shapes[1:] if len(s) >= len(shapes[0]) - axis]
    if not others or all(s[axis - len(shapes[0])] == 1 for s in others):
        shapes[1] = list(shapes[0])
        shapes[1][axis] = 6
    with pytest.raises(ValueError, match="incompatible shapes"):
        getattr(keras.layers, _OPS[op])()([keras.Input(tuple(x)) for x in shapes])
    with pytest.raises(SourceError) as err:
        symparam.analyze(_source(op, shapes))
    assert err.value.line == len(shapes) + 3
    assert all(f"(None, {', '.join(map(str, x))})" in err.value.message for x in shapes)


@pytest.mark.oracle
def test_squeeze_and_excitation_counts_as_keras_and_torch(frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    src = ("block se(r):\n    let c = in.channels\n    branches multiply:\n"
           "        branch:\n            identity\n        branch:\n"
           "            global_avgpool2d keepdims = true\n            conv2d c // r, 1\n"
           "            relu\n            conv2d c, 1, activation = sigmoid\n\n"
           "model m(H = 10, W = 12, C = 24):\n    input [H, W, C]\n    se 4\n")
    s = symparam.analyze(src)
    x = keras.Input((10, 12, 24))
    g = keras.layers.GlobalAveragePooling2D(keepdims=True)(x)
    g = keras.layers.Conv2D(6, 1, activation="relu")(g)
    g = keras.layers.Conv2D(24, 1, activation="sigmoid")(g)
    y = keras.layers.Multiply()([x, g])
    model = keras.Model(x, y)
    assert s.value(s.total) == model.count_params() == 6 * 25 + 24 * 7
    assert s.shape_at(s.layers[-1].output_shape) == tuple(y.shape[1:])
    se = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Conv2d(24, 6, 1),
                             torch.nn.ReLU(), torch.nn.Conv2d(6, 24, 1), torch.nn.Sigmoid())
    t = symparam.analyze(s.document, convention="torch")
    assert t.value(t.total) == sum(p.numel() for p in se.parameters())
    image = torch.zeros(2, 24, 10, 12)
    assert tuple((image * se(image)).shape[1:]) == (24, 10, 12)
