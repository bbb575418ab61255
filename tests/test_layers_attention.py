"""Multi-head attention in both conventions, checked against Keras's MultiHeadAttention
and PyTorch's nn.MultiheadAttention built from symparam's own description."""
from __future__ import annotations

import pytest
import sympy

import symparam
from symparam import SymparamError

d, h, k, e = (sympy.Symbol(s, integer=True, positive=True) for s in ("d", "h", "k", "e"))

# The query is [T, d]; `enc` is a second sequence [S, e], `other` is [S, f].
HEAD = ("convention {c}\nmodel m(T = 5, S = 9, d = 16, e = 12, f = 8, h = 4, k = 6):\n"
        "    input [S, e] as enc\n    input [S, f] as other\n    input [T, d]\n")


def model(line: str, convention: str, symbolic=False):
    return symparam.analyze(HEAD.format(c=convention) + f"    {line}\n", symbolic=symbolic)


FORMULAS = [
    # Keras: three (width x heads x key_dim) kernels with (heads x key_dim) biases, and
    # an output kernel (heads x value_dim x d) with a bias of d.
    ("attention h, k", "keras", 3 * (d * h * k + h * k) + h * k * d + d),
    ("attention h, k, key = enc, value = enc", "keras",
     (d + 2 * e) * h * k + 3 * h * k + h * k * d + d),
    ("attention h, k, bias = false", "keras", 4 * d * h * k),
    ("attention h, k, value_dim = 3, output_shape = 7", "keras",
     2 * d * h * k + 2 * h * k + 3 * d * h + 3 * h + 3 * h * 7 + 7),
    # PyTorch: in_proj 3d x d with a 3d bias, out_proj d x d with a d bias.
    ("attention h", "torch", 4 * d * d + 4 * d),
    ("attention h, bias = false", "torch", 4 * d * d),
    ("attention h, add_bias_kv = true", "torch", 4 * d * d + 4 * d + 2 * d),
    # kdim and vdim from the key and value tensors: q d x d, k d x e, v d x e.
    ("attention h, key = enc, value = enc", "torch", 2 * d * d + 2 * d * e + 4 * d),
]


@pytest.mark.parametrize("line, convention, formula", FORMULAS)
def test_formula(line, convention, formula):
    s = model(line, convention, symbolic=True)
    assert sympy.expand(s.total - formula) == 0, s.total


def test_torch_packs_qkv_only_when_widths_agree():
    same = [w.name for w in model("attention h", "torch").layers[-1].weights]
    cross = [w.name for w in model("attention h, key = enc, value = enc",
                                   "torch").layers[-1].weights]
    assert same == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert cross[:3] == ["q_proj_weight", "k_proj_weight", "v_proj_weight"]


def test_attention_takes_the_tensors_as_inputs():
    s = model("attention h, k, key = other, value = enc", "keras")
    layer = s.layers[-1]
    assert layer.inputs[0] == "input_layer"  # the query, then the named tensors
    assert sorted(layer.inputs[1:]) == ["enc", "other"]
    assert s.shape_at(layer.output_shape) == (5, 16)


@pytest.mark.parametrize("line, convention, message", [
    ("attention h", "keras", "needs key_dim"),
    ("attention h, k, add_bias_kv = true", "keras",
     "`add_bias_kv = true` is a PyTorch option; Keras's MultiHeadAttention"),
    ("attention h, value_dim = 3", "torch",
     "`value_dim = 3` is a Keras option; PyTorch's MultiheadAttention"),
    ("attention 5", "torch", "divisible by 5 heads"),
    ("attention h, k, key = enc", "keras", "needs value = "),
    ("attention h, k, key = enc, value = nothing", "keras", "unknown tensor 'nothing'"),
    ("attention h, key = enc, value = other", "torch", "same steps|must equal"),
    ("attention h, kdim = 7, key = enc, value = enc", "torch",
     "kdim = 7 must equal the tensor's last axis e"),
    ("attention h, k = 3", "torch", "unknown argument 'k'"),
])
def test_bad_options(line, convention, message):
    with pytest.raises(SymparamError, match=message) as err:
        src = HEAD.format(c=convention).replace("input [S, f] as other",
                                                "input [S + 1, f] as other")
        symparam.analyze(src + f"    {line}\n")
    assert "line 6" in str(err.value)


# ---- the frameworks themselves ---------------------------------------------------
@pytest.fixture
def torch(frameworks):  # conftest: skips, or fails in CI, without the frameworks
    return frameworks["torch"]


@pytest.fixture
def keras(frameworks):
    return frameworks["keras"]


def _int(s, v):
    return None if v is None else int(s.at(v))


KERAS_CASES = [
    "attention h, k",
    "attention 2, 3, bias = false",
    "attention h, k, value_dim = 5, output_shape = 7",
    "attention h, k, key = enc, value = enc",
    "attention h, k, key = other, value = enc",
    "attention 1, 16, value = other, use_bias = false",
]


@pytest.mark.oracle
@pytest.mark.parametrize("line", KERAS_CASES)
def test_against_keras(keras, line):
    s = model(line, "keras")
    layer = s.layers[-1]
    a = layer.args
    # The three inputs have distinct shapes: find the key and value by theirs.
    by_shape = {s.shape_at(t.output_shape): keras.Input(s.shape_at(t.output_shape))
                for t in s.layers[:3]}
    query = by_shape[s.shape_at(layer.input_shapes[0])]
    value = by_shape[s.shape_at(a["value"])] if a["value"] is not None else query
    key = by_shape[s.shape_at(a["key"])] if a["key"] is not None else None
    mha = keras.layers.MultiHeadAttention(
        _int(s, a["heads"]), _int(s, a["key_dim"]), value_dim=_int(s, a["value_dim"]),
        output_shape=_int(s, a["output_shape"]), use_bias=a["bias"])
    y = mha(query, value, key=key)
    built = keras.Model(list(by_shape.values()), y)
    assert s.value(s.total) == built.count_params()
    assert tuple(y.shape[1:]) == s.shape_at(layer.output_shape)
    mine = sorted(tuple(int(s.at(x)) for x in w.shape) for w in layer.weights)
    assert mine == sorted(tuple(w.shape) for w in mha.weights)


def test_keras_query_of_rank_three():
    s = symparam.analyze("model m():\n    input [4, 5, 16]\n    attention 2, 8\n")
    assert s.layers[-1].output_shape == (4, 5, 16)
    assert s.value(s.total) == 3 * (16 * 2 * 8 + 2 * 8) + 2 * 8 * 16 + 16


@pytest.mark.oracle
def test_keras_query_of_rank_three_against_keras(keras):
    x = keras.Input((4, 5, 16))
    mha = keras.layers.MultiHeadAttention(2, 8)
    y = mha(x, x)
    s = symparam.analyze("model m():\n    input [4, 5, 16]\n    attention 2, 8\n")
    assert s.value(s.total) == mha.count_params()
    assert tuple(y.shape[1:]) == s.layers[-1].output_shape


TORCH_CASES = [
    "attention h",
    "attention 2, bias = false",
    "attention h, add_bias_kv = true",
    "attention h, key = enc, value = enc",
    "attention h, key = other, value = enc, add_bias_kv = true",
    "attention 8, 2, embed_dim = 16, bias = false",
]


@pytest.mark.oracle
@pytest.mark.parametrize("line", TORCH_CASES)
def test_against_torch(torch, line):
    s = model(line, "torch")
    layer = s.layers[-1]
    a = layer.args
    q = layer.input_shapes[0]
    value = a["value"] if a["value"] is not None else q
    key = a["key"] if a["key"] is not None else value
    ints = [tuple(int(s.at(x)) for x in shape) for shape in (q, key, value)]
    mha = torch.nn.MultiheadAttention(
        ints[0][-1], _int(s, a["heads"]), bias=a["bias"], add_bias_kv=a["add_bias_kv"],
        kdim=ints[1][-1], vdim=ints[2][-1], batch_first=True)
    params = dict(mha.named_parameters())
    assert s.value(s.total) == sum(p.numel() for p in params.values())
    assert {w.name: tuple(int(s.at(x)) for x in w.shape) for w in layer.weights} == {
        name: tuple(p.shape) for name, p in params.items()}
    with torch.no_grad():
        y, _ = mha(*(torch.zeros(2, *shape) for shape in ints))
    assert tuple(y.shape[1:]) == s.shape_at(layer.output_shape)
