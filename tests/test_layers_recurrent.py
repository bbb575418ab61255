"""Recurrent layers (simple_rnn, lstm, gru): formulas in both conventions, checked
against Keras 3 and PyTorch built from symparam's own description of the layer."""
from __future__ import annotations

import math

import pytest
import sympy

import symparam
from symparam import SymparamError

T, N, U = 5, 7, 6
n, u, p = (sympy.Symbol(s, integer=True, positive=True) for s in ("n", "u", "p"))


def layer_model(line: str, convention: str, symbolic=False, T=T, n=N, u=U):
    src = (f"convention {convention}\nmodel m(T = {T}, n = {n}, u = {u}, p = 3):\n"
           f"    input [T, n]\n    {line}\n")
    return symparam.analyze(src, symbolic=symbolic)


# ---- formulas: each framework's documented weight shapes, summed --------------------
FORMULAS = [
    # Keras: kernel n x gu, recurrent_kernel u x gu, one bias gu.
    ("simple_rnn u", "keras", u * (n + u + 1)),
    ("lstm u", "keras", 4 * u * (n + u + 1)),
    ("gru u", "keras", 3 * u * (n + u + 2)),                      # reset_after: 2 x 3u bias
    ("gru u, reset_after = false", "keras", 3 * u * (n + u + 1)),
    ("lstm u, bias = false", "keras", 4 * u * (n + u)),
    ("lstm u, bidirectional = true", "keras", 8 * u * (n + u + 1)),
    # PyTorch: weight_ih gu x n, weight_hh gu x u, b_ih and b_hh of gu each.
    ("rnn u", "torch", u * (n + u + 2)),
    ("lstm u", "torch", 4 * u * (n + u) + 8 * u),
    ("gru u", "torch", 3 * u * (n + u + 2)),
    ("lstm u, bias = false", "torch", 4 * u * (n + u)),
    # A second layer reads the first one's output (2u when bidirectional).
    ("lstm u, num_layers = 2", "torch", 4 * u * (n + u + 2) + 4 * u * (2 * u + 2)),
    ("gru u, num_layers = 2, bidirectional = true", "torch",
     2 * 3 * u * (n + u + 2) + 2 * 3 * u * (3 * u + 2)),
    # proj_size p: weight_hh reads p, and weight_hr (p x u) projects the state.
    ("lstm u, proj_size = p", "torch", 4 * u * (n + p + 2) + p * u),
]


@pytest.mark.parametrize("line, convention, formula", FORMULAS)
def test_formula(line, convention, formula):
    s = layer_model(line, convention, symbolic=True)
    assert sympy.expand(s.total - formula) == 0, s.total
    assert s.trainable == s.total and s.non_trainable == 0 and s.buffers == 0


def test_torch_second_bias_is_data_a_derivation_can_show():
    keras_w = {w.name: w for w in layer_model("lstm u", "keras", True).layers[-1].weights}
    torch_w = {w.name: w for w in layer_model("lstm u", "torch", True).layers[-1].weights}
    assert set(keras_w) == {"kernel", "recurrent_kernel", "bias"}
    assert set(torch_w) == {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"}
    assert torch_w["bias_hh_l0"].shape == (4 * u,)
    assert "second bias" in torch_w["bias_hh_l0"].why and "4u" in torch_w["bias_hh_l0"].why
    assert keras_w["bias"].shape == (4 * u,)


@pytest.mark.parametrize("line, convention, shape", [
    ("lstm u", "keras", (U,)),                       # Keras: the last step
    ("lstm u", "torch", (T, U)),                     # PyTorch: the whole sequence
    ("lstm u, return_sequences = true", "keras", (T, U)),
    ("lstm u, return_sequences = false", "torch", (U,)),
    ("gru u, bidirectional = true", "keras", (2 * U,)),
    ("gru u, bidirectional = true, merge_mode = sum", "keras", (U,)),
    ("lstm u, proj_size = p, bidirectional = true", "torch", (T, 6)),
])
def test_output_shape(line, convention, shape):
    s = layer_model(line, convention)
    assert s.shape_at(s.layers[-1].output_shape) == shape


@pytest.mark.parametrize("line, convention, message", [
    ("lstm u, proj_size = 3", "keras", "`proj_size = 3` is a PyTorch option; Keras's LSTM"),
    ("lstm u, proj_size = 9", "torch", "proj_size .* must be smaller than units"),
    ("gru u, reset_after = false", "torch", "reset_after = true"),
    ("lstm u, bidirectional = true, merge_mode = sum", "torch", "always concatenate"),
    ("lstm u, merge_mode = sum", "keras", "merge_mode needs bidirectional"),
    ("lstm u, recurrent_dropout = 0.1", "torch",
     "`recurrent_dropout = 0.1` is a Keras option; PyTorch's LSTM"),
    ("lstm u, num_layers = T", "torch", "num_layers must be a number"),
    ("lstm u, merge_mode = cat", "keras", "did you mean 'concat'"),
    ("lstm", "keras", "needs its argument 'units'"),
])
def test_bad_options(line, convention, message):
    with pytest.raises(SymparamError, match=message) as err:
        layer_model(line, convention)
    assert "line 4" in str(err.value)


def test_needs_a_sequence():
    with pytest.raises(SymparamError, match=r"expects a sequence \(steps, features\)"):
        symparam.analyze("model m():\n    input [4, 5, 6]\n    lstm 8\n")


# ---- the frameworks themselves ---------------------------------------------------
@pytest.fixture
def torch(frameworks):  # conftest: skips, or fails in CI, without the frameworks
    return frameworks["torch"]


@pytest.fixture
def keras(frameworks):
    return frameworks["keras"]


CONFIGS = [
    "{k} u",
    "{k} u, bias = false",
    "{k} u, return_sequences = true",
    "{k} u, return_sequences = false",
    "{k} u, bidirectional = true",
    "{k} u, num_layers = 2",
    "{k} u, num_layers = 3, bidirectional = true, return_sequences = true",
    "{k} 4, num_layers = 2, bidirectional = true, return_sequences = false",
]
KERAS_ONLY = [
    "gru u, reset_after = false",
    "gru u, reset_after = false, bidirectional = true, num_layers = 2",
    "lstm u, bidirectional = true, merge_mode = sum",
    "simple_rnn u, bidirectional = true, merge_mode = ave, num_layers = 2",
    "lstm u, bidirectional = true, merge_mode = mul, return_sequences = true",
]
TORCH_ONLY = [
    "lstm u, proj_size = p",
    "lstm u, proj_size = 2, bidirectional = true, num_layers = 2",
    "lstm u, proj_size = p, return_sequences = false",
    "rnn u, nonlinearity = relu",
]
KINDS = ("simple_rnn", "lstm", "gru")


def _ints(s, args: dict) -> dict:
    """The layer's arguments with the model's values in: plain Python values."""
    return {k: int(s.at(v)) if isinstance(v, sympy.Basic) else v for k, v in args.items()}


def build_keras(keras, s, layer):
    """The Keras layers that symparam's description stands for: num_layers stacked
    layers, all but the last returning sequences, each wrapped if bidirectional."""
    a = _ints(s, layer.args)
    cls = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM,
           "gru": keras.layers.GRU}[layer.kind]
    extra = {"reset_after": a["reset_after"]} if layer.kind == "gru" else {}
    out = []
    for i in range(a["num_layers"]):
        seq = True if i < a["num_layers"] - 1 else bool(a["return_sequences"])
        one = cls(a["units"], use_bias=a["bias"], return_sequences=seq, **extra)
        if a["bidirectional"]:
            one = keras.layers.Bidirectional(one, merge_mode=a["merge_mode"] or "concat")
        out.append(one)
    return out


def build_torch(torch, s, layer, n):
    a = _ints(s, layer.args)
    cls = {"simple_rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[layer.kind]
    extra = {"proj_size": a["proj_size"]} if layer.kind == "lstm" else {}
    if layer.kind == "simple_rnn" and a["activation"]:
        extra["nonlinearity"] = a["activation"]
    return cls(n, a["units"], num_layers=a["num_layers"], bias=a["bias"], batch_first=True,
               bidirectional=a["bidirectional"], **extra)


@pytest.mark.oracle
@pytest.mark.parametrize("line", [c.format(k=k) for c in CONFIGS for k in KINDS] + KERAS_ONLY)
def test_against_keras(keras, line):
    s = layer_model(line, "keras")
    layer = s.layers[-1]
    x = keras.Input((T, N))
    y = x
    built = build_keras(keras, s, layer)
    for one in built:
        y = one(y)
    model = keras.Model(x, y)
    assert s.value(s.total) == model.count_params()
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert s.value(s.trainable) == trainable
    assert s.value(s.non_trainable) == model.count_params() - trainable == 0
    assert tuple(y.shape[1:]) == s.shape_at(layer.output_shape)
    # The weights themselves, one by one, not only their total.
    mine = sorted(tuple(int(s.at(d)) for d in w.shape) for w in layer.weights)
    assert mine == sorted(tuple(w.shape) for w in model.weights)


@pytest.mark.oracle
@pytest.mark.parametrize("line", [c.format(k=k) for c in CONFIGS for k in KINDS] + TORCH_ONLY)
def test_against_torch(torch, line):
    s = layer_model(line, "torch")
    layer = s.layers[-1]
    module = build_torch(torch, s, layer, N)
    params = dict(module.named_parameters())
    assert s.value(s.total) == sum(q.numel() for q in params.values())
    assert s.value(s.buffers) == sum(b.numel() for b in module.buffers()) == 0
    # Same names and shapes as PyTorch's own parameters.
    assert {w.name: tuple(int(s.at(d)) for d in w.shape) for w in layer.weights} == {
        name: tuple(q.shape) for name, q in params.items()}
    with torch.no_grad():
        y = module(torch.zeros(2, T, N))[0]
    if layer.args["return_sequences"] is False:
        y = y[:, -1]  # what return_sequences = false stands for: the last step
    assert tuple(y.shape[1:]) == s.shape_at(layer.output_shape)


@pytest.mark.oracle
def test_keras_lstm_text_classifier(keras):
    """A whole small model: embedding, a bidirectional LSTM returning sequences, an LSTM,
    a dense head; every output shape and the count agree with Keras."""
    src = """
model textcls(T = 40, V = 5000, d = 32, u = 24, classes = 3):
    input [T]
    embedding V, d
    lstm u, bidirectional = true, return_sequences = true
    gru u
    dense classes, activation = softmax
"""
    s = symparam.analyze(src)
    L = keras.layers
    x = keras.Input((40,))
    ys = [L.Embedding(5000, 32)(x)]
    ys.append(L.Bidirectional(L.LSTM(24, return_sequences=True))(ys[-1]))
    ys.append(L.GRU(24)(ys[-1]))
    ys.append(L.Dense(3, activation="softmax")(ys[-1]))
    model = keras.Model(x, ys[-1])
    assert s.value(s.total) == model.count_params()
    assert [s.shape_at(layer.output_shape) for layer in s.layers[1:]] == [
        tuple(y.shape[1:]) for y in ys]


@pytest.mark.parametrize("line", ["lstm u, activation = relu", "rnn u, activation = sigmoid",
                                  "gru u, recurrent_activation = sigmoid"])
def test_torch_activations_are_fixed(line):
    with pytest.raises(SymparamError, match="fixes its activations"):
        layer_model(line, "torch")


@pytest.mark.oracle
def test_keras_bidirectional_is_named_and_typed_as_keras_does(frameworks):
    """Keras wraps a bidirectional layer in Bidirectional: its summary row says
    `bidirectional (Bidirectional)`; PyTorch's LSTM takes a flag and stays an LSTM."""
    keras = frameworks["keras"]
    inp = keras.Input((10, 8))
    x = keras.layers.Bidirectional(keras.layers.LSTM(16, return_sequences=True))(inp)
    model = keras.Model(inp, keras.layers.GRU(4)(x))
    expected = [(type(layer).__name__, layer.count_params()) for layer in model.layers[1:]]
    src = ("model m():\n    input [10, 8]\n"
           "    lstm 16, bidirectional = true, return_sequences = true\n    gru 4\n")
    stats = symparam.analyze(src)
    assert [(l.type, stats.value(l.params)) for l in stats.layers[1:]] == expected
    assert [l.name for l in stats.layers[1:]] == ["bidirectional", "gru"]
    assert symparam.analyze(src, convention="torch").layers[1].type == "LSTM"
    keras.backend.clear_session()
