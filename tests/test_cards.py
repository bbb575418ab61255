"""Layer cards (`symparam explain`, docs/layers.md): every registered kind has a card
in both conventions, seed 003's numbers come out of the batch-normalization card, and
the cards' initial values and forward passes agree with Keras 3 and PyTorch themselves.

Ground truth: seed 003 (Keras's printed output for BatchNormalization on
[[0, 1], [2, 3]]), the frameworks' layers built and run (oracle tests), and counts
published in the frameworks' documentation (LSTM: PyTorch adds a second bias, 4u).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import sympy
from click.testing import CliRunner

from symparam import SymparamError, cards
from symparam.render import cards as card_text
from symparam.render.plain import plain
from symparam.cli import main
from symparam.errors import UsageError
from symparam.layers import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
KINDS = cards.kinds()
NAMES = [k.names[0] for k in KINDS]
n, u, C = (sympy.Symbol(s, integer=True, positive=True) for s in ("n", "u", "C"))

# Seed 003: Keras's model.predict on [[0, 1], [2, 3]] with an untrained
# BatchNormalization(axis=1), as the person printed it (float32).
SEED_003 = [[0.0, 0.99950039], [1.99900079, 2.9985013]]


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    """Keras numbers its automatic layer names process-wide (activation_3): start the
    next test, here or in another module, from a clean session."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()


def run(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return result


# ---- every kind ---------------------------------------------------------------------

def test_every_registered_name_reaches_a_kind_with_a_card():
    assert {name for k in KINDS for name in k.names} == set(REGISTRY)
    assert len(NAMES) == len(set(NAMES))


@pytest.mark.parametrize("name", NAMES)
def test_card_builds_in_both_conventions(name):
    c = cards.card(name)
    assert c.equation and c.kind.example is not None
    available = [s for s in c.sides if s.available]
    assert available, f"{name}: neither convention analyzes its example"
    for side in c.sides:
        if not side.available:  # a kind one framework lacks says so, naming the other
            other = c.torch if side is c.keras else c.keras
            assert c.differences[0].startswith(f"{side.framework} has no such layer")
            assert f"{other.framework} only" in c.differences[0]
            continue
        assert side.type and side.output_shape is not None
        # The counts are the weights' sizes by role: parameters, then buffers.
        by_role = {role: sum((w.size for w in side.weights if w.role == role), sympy.S.Zero)
                   for role in ("trainable", "non_trainable", "buffer")}
        assert sympy.expand(side.counts["trainable"] - by_role["trainable"]) == 0
        assert sympy.expand(side.counts["buffers"] - by_role["buffer"]) == 0
        # Every weight states its initial value in this framework.
        missing = [w.name for w in side.weights if not w.init]
        assert not missing, f"{name} ({side.convention}): no initial value for {missing}"


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
@pytest.mark.parametrize("convention", ["keras", "torch"])
def test_every_card_renders(fmt, convention):
    for name in NAMES:
        text = card_text.render(cards.card(name), fmt, convention)
        if fmt == "latex":  # escaped, with break points after underscores
            text = text.replace(r"\allowbreak{}", "").replace(r"\_", "_")
        assert name in text


def test_instance_norm_exists_in_pytorch_only():
    c = cards.card("instancenorm")
    assert not c.keras.available and c.torch.available
    assert "Keras has no such layer" in c.differences[0]
    assert "PyTorch only" in c.differences[0]


# ---- what the cards derive ------------------------------------------------------------

def test_dense_card_counts_and_shapes():
    c = cards.card("linear")  # an alias
    assert c.name == "dense" and c.aliases == ("linear",)
    for side in c.sides:
        assert sympy.expand(side.counts["total"] - u * (n + 1)) == 0
        assert side.output_shape == (u,)
    assert [w.shape for w in c.keras.weights] == [(n, u), (u,)]
    assert [w.shape for w in c.torch.weights] == [(u, n), (u,)]
    assert any("transposed" in d for d in c.differences)
    assert c.keras.weights[0].init.startswith("glorot_uniform")
    assert c.torch.weights[0].init.startswith("kaiming_uniform(a=sqrt(5))")


def test_lstm_difference_is_the_second_bias():
    # PyTorch's LSTM documents bias_ih and bias_hh, each 4*hidden_size; Keras one bias.
    c = cards.card("lstm")
    gap = c.torch.counts["total"] - c.keras.counts["total"]
    assert sympy.expand(gap - 4 * u) == 0
    assert any("PyTorch has 4*u more" in d for d in c.differences)
    assert any("second bias" in d for d in c.differences)
    # Keras returns the last step, PyTorch the whole sequence.
    assert any(d.startswith("output shape") for d in c.differences)


def test_batchnorm_card_roles_and_constants():
    c = cards.card("batch_normalization")
    assert sympy.expand(c.keras.counts["non_trainable"] - 2 * C) == 0
    assert sympy.expand(c.torch.counts["buffers"] - (2 * C + 1)) == 0
    assert dict(c.keras.constants)["epsilon"] == "0.001"
    assert dict(c.torch.constants)["epsilon"] == "1e-05"
    assert "epsilon: Keras 0.001, PyTorch 1e-05" in c.differences


# ---- seed 003: the equation at the initial values ---------------------------------

def test_seed_003_keras():
    e = cards.evaluate("batchnorm", "0,1;2,3")
    assert e.output.dtype == np.float32
    assert np.array_equal(e.output, np.array(SEED_003, dtype=np.float32))
    assert card_text.array_text(e.output) == "[[0, 0.9995004], [1.9990008, 2.9985013]]"
    assert plain(e.equation) == "y = x/sqrt(1.001)"


def test_seed_003_torch_has_another_factor():
    e = cards.evaluate("batchnorm", "0,1;2,3", "torch")
    assert plain(e.equation) == "y = x/sqrt(1.00001)"
    factor = np.float32(1) / np.sqrt(np.float32(1.00001))
    assert np.array_equal(e.output, np.arange(4, dtype=np.float32).reshape(2, 2) * factor)
    assert not np.array_equal(e.output, np.array(SEED_003, dtype=np.float32))


def test_seed_003_command_line():
    out = run("explain", "batchnorm", "--input", "0,1;2,3").output
    assert "y = γ (x - μ)/sqrt(σ^2 + ε) + β" in out
    assert "γ = 1, β = 0, μ = 0, σ^2 = 1, ε = 0.001" in out
    assert "y = x/sqrt(1.001)" in out
    assert "[[0, 0.9995004], [1.9990008, 2.9985013]]" in out
    torch = run("explain", "batchnorm", "--convention", "torch", "--input", "0,1;2,3").output
    assert "y = x/sqrt(1.00001)" in torch and "0.999995" in torch
    md = run("explain", "batchnorm", "-f", "markdown", "--input", "0,1;2,3").output
    assert "y = \\frac{x}{\\sqrt{1.001}}" in md and "```math" in md
    tex = run("explain", "batchnorm", "-f", "latex", "--input", "0,1;2,3").output
    assert "\\begin{equation*}" in tex and "batchnorm" in tex


def test_random_weights_are_not_evaluated():
    e = cards.evaluate("dense", "1,2;3,4")
    assert e.output is None and "random" in e.reason and "kernel" in e.reason
    assert "bias (zeros)" not in e.reason  # zeros are not random
    out = run("explain", "lstm", "--input", "1,2;3,4").output
    assert "not evaluated: its initial weights are random" in out
    merge = cards.evaluate("add", "1,2")
    assert merge.output is None and "several input tensors" in merge.reason


def test_a_call_gives_the_arguments():
    # GroupNormalization with one group is layer normalization over all the channels.
    e = cards.evaluate("groupnorm 1", "0,1;2,3")
    ln = cards.evaluate("layernorm", "0,1;2,3")
    assert np.array_equal(e.output, ln.output)
    x = np.array([[0, 1], [2, 3]], dtype=np.float32)
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(ln.output, expected, rtol=1e-6)


# ---- errors -----------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("explain", "batchnrm"), "unknown layer 'batchnrm' (did you mean 'batchnorm'"),
    (("explain", "conv2"), "did you mean"),
    (("explain", "batchnorm", "--input", "0,a"), "--input '0,a'"),
    (("explain", "batchnorm", "--input", "0,1;2"), "every row needs as many values"),
    (("explain", "groupnorm", "--input", "0,1"), "undefined symbol 'G'"),
    (("explain", "maxpool1d 2", "--input", "1,2"), "expects a 2-D input"),
    (("explain",), "name a layer"),
])
def test_errors_are_messages(args, message):
    result = run(*args, code=2)
    assert message in result.output
    assert "Traceback" not in result.output


def test_unknown_layer_in_the_library():
    with pytest.raises(UsageError, match="did you mean 'dense'"):
        cards.card("dens")
    assert issubclass(UsageError, SymparamError)


def test_list():
    out = run("explain", "--list").output.splitlines()
    titles = [line for line in out if not line.startswith("  ")]
    assert titles[0] == "Core layers:" and "Normalization:" in titles
    assert "  dense (also linear)" in out and len(out) - len(titles) == len(NAMES)


# ---- plain text for terminals --------------------------------------------------------

@pytest.mark.parametrize("tex, text", [
    (r"h_t = \tanh\left(W x_t + U h_{t-1} + b\right)", "h_t = tanh(W x_t + U h_(t-1) + b)"),
    (r"y = \frac{1}{1 + e^{-x}}", "y = 1/(1 + e^(-x))"),
    (r"(K W)^\top", "(K W)ᵀ"),
    (r"\hat{x} = x", "x̂ = x"),
])
def test_plain(tex, text):
    assert plain(tex) == text


# ---- docs/layers.md ----------------------------------------------------------------

def test_layer_reference_is_current():
    committed = (ROOT / "docs" / "layers.md").read_text(encoding="utf-8")
    assert committed == card_text.reference(), (
        "docs/layers.md is stale: run symparam explain --reference -o docs/layers.md")


def test_layer_reference_lists_every_kind():
    text = card_text.reference()
    for name in NAMES:
        assert f"### `{name}`" in text


# ---- against the frameworks ---------------------------------------------------------

@pytest.mark.oracle
def test_seed_003_against_keras_and_torch(frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    x = np.arange(4).reshape(2, 2)
    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.BatchNormalization(axis=1)(inp))
    got = model.predict(x, batch_size=2, verbose=0)
    assert np.array_equal(cards.evaluate("batchnorm", "0,1;2,3").output, got)
    bn = torch.nn.BatchNorm1d(2).eval()
    with torch.no_grad():
        ref = bn(torch.tensor(x, dtype=torch.float32)).numpy()
    assert np.array_equal(cards.evaluate("batchnorm", "0,1;2,3", "torch").output, ref)


def _keras_out(keras, layer, x):
    inp = keras.Input(x.shape[1:])
    return keras.Model(inp, layer(inp)).predict(x, verbose=0)


def _torch_out(torch, module, x):
    with torch.no_grad():
        return module.eval()(torch.tensor(x)).numpy()


# (call, input, Keras layer, PyTorch module): the forward pass at the initial values.
# The tolerance allows float32 rounding: at gelu(-4) Keras's float32 erf loses digits
# that the card, rounding a double, keeps.
FORWARD = [
    ("layernorm", "0,1,5;2,3,-1", lambda k: k.layers.LayerNormalization(),
     lambda t: t.nn.LayerNorm(3)),
    ("rmsnorm", "0,1,5;2,3,-1", lambda k: k.layers.RMSNormalization(),
     lambda t: t.nn.RMSNorm(3)),
    ("prelu", "-1,2;3,-4", lambda k: k.layers.PReLU(), lambda t: t.nn.PReLU()),
    ("leaky_relu", "-1,2;3,-4", lambda k: k.layers.LeakyReLU(), lambda t: t.nn.LeakyReLU()),
    ("elu", "-1,2;3,-4", lambda k: k.layers.ELU(), lambda t: t.nn.ELU()),
    ("gelu", "-1,2;3,-4", lambda k: k.layers.Activation("gelu"), lambda t: t.nn.GELU()),
    ("softmax", "-1,2;3,-4", lambda k: k.layers.Softmax(), lambda t: t.nn.Softmax(-1)),
    ("sigmoid", "-1,2;3,-4", lambda k: k.layers.Activation("sigmoid"),
     lambda t: t.nn.Sigmoid()),
]


@pytest.mark.oracle
@pytest.mark.parametrize("call, text, make_keras, make_torch", FORWARD,
                         ids=[f[0] for f in FORWARD])
def test_forward_at_initial_values(frameworks, call, text, make_keras, make_torch):
    keras, torch = frameworks["keras"], frameworks["torch"]
    x = cards.parse_input(text)
    np.testing.assert_allclose(cards.evaluate(call, text, "keras").output,
                               _keras_out(keras, make_keras(keras), x), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(cards.evaluate(call, text, "torch").output,
                               _torch_out(torch, make_torch(torch), x), rtol=2e-6, atol=1e-6)


@pytest.mark.oracle
def test_forward_with_channels(frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    text = "1,2;3,4;5,6;8,7 | 0,1;1,0;2,2;9,3"  # two examples of 4 steps x 2 channels
    x = cards.parse_input(text)
    xt = np.ascontiguousarray(np.moveaxis(x, 1, 2))  # PyTorch: channels first
    for call, k_layer, t_module in [
            ("maxpool1d 2", keras.layers.MaxPooling1D(2), torch.nn.MaxPool1d(2)),
            ("avgpool1d 2", keras.layers.AveragePooling1D(2), torch.nn.AvgPool1d(2)),
            ("global_avgpool1d", keras.layers.GlobalAveragePooling1D(), None),
            ("upsample1d 2", keras.layers.UpSampling1D(2), torch.nn.Upsample(scale_factor=2)),
            ("zeropad1d 1", keras.layers.ZeroPadding1D(1), torch.nn.ZeroPad1d(1)),
            # 4 steps into 3: overlapping windows [0, 2), [1, 3), [2, 4).
            ("adaptive_avgpool1d 3", keras.layers.AdaptiveAveragePooling1D(3),
             torch.nn.AdaptiveAvgPool1d(3)),
            ("adaptive_maxpool1d 3", keras.layers.AdaptiveMaxPooling1D(3),
             torch.nn.AdaptiveMaxPool1d(3)),
            ("groupnorm 1", keras.layers.GroupNormalization(1), torch.nn.GroupNorm(1, 2)),
            ("instancenorm", None, torch.nn.InstanceNorm1d(2))]:
        if k_layer is not None:
            np.testing.assert_allclose(cards.evaluate(call, text, "keras").output,
                                       _keras_out(keras, k_layer, x), rtol=2e-6, atol=1e-6)
        if t_module is not None:
            np.testing.assert_allclose(cards.evaluate(call, xt, "torch").output,
                                       _torch_out(torch, t_module, xt), rtol=2e-6, atol=1e-6)


@pytest.mark.oracle
def test_initial_values_against_the_frameworks(frameworks):
    keras, torch = frameworks["keras"], frameworks["torch"]
    init = {name: cards.card(name) for name in ("batchnorm", "layernorm", "groupnorm",
                                                 "rmsnorm", "dense", "embedding", "lstm",
                                                 "prelu", "conv2d", "attention")}

    def keras_init(layer, key):
        return layer.get_config()[key]["class_name"]

    def rows(name, convention):
        return {w.name: w.init for w in init[name].side(convention).weights}

    L = keras.layers
    bn = L.BatchNormalization()
    assert dict(init["batchnorm"].keras.constants)["epsilon"] == str(bn.epsilon)
    assert str(torch.nn.BatchNorm1d(2).eps) == dict(init["batchnorm"].torch.constants)["epsilon"]
    assert dict(init["layernorm"].keras.constants)["epsilon"] == str(L.LayerNormalization().epsilon)
    assert dict(init["groupnorm"].keras.constants)["epsilon"] == str(
        L.GroupNormalization().epsilon)
    assert float(dict(init["rmsnorm"].keras.constants)["epsilon"]) == L.RMSNormalization().epsilon
    assert torch.nn.RMSNorm(2).eps is None  # the card: None, the dtype's machine epsilon
    for key, row in (("gamma_initializer", "gamma"), ("beta_initializer", "beta"),
                     ("moving_mean_initializer", "moving_mean"),
                     ("moving_variance_initializer", "moving_variance")):
        assert keras_init(bn, key).lower() == rows("batchnorm", "keras")[row]
    assert keras_init(L.Dense(2), "kernel_initializer") == "GlorotUniform"
    assert rows("dense", "keras")["kernel"].startswith("glorot_uniform")
    assert keras_init(L.Dense(2), "bias_initializer") == "Zeros" == rows("dense", "keras")[
        "bias"].capitalize()
    emb = L.Embedding(3, 2).get_config()["embeddings_initializer"]
    assert (emb["class_name"], emb["config"]["minval"]) == ("RandomUniform", -0.05)
    lstm = L.LSTM(3)
    assert keras_init(lstm, "recurrent_initializer").lower() == rows("lstm", "keras")[
        "recurrent_kernel"]
    assert lstm.get_config()["unit_forget_bias"] and "forget gate" in rows("lstm", "keras")[
        "bias"]
    assert keras_init(L.PReLU(), "alpha_initializer").lower() == rows("prelu", "keras")["alpha"]
    assert float(torch.nn.PReLU().weight) == float(rows("prelu", "torch")["weight"])
    # PyTorch: a fresh Linear's weights stay within 1/sqrt(fan_in), its norms start at 1, 0.
    lin = torch.nn.Linear(400, 3)
    assert float(lin.weight.abs().max()) <= 1 / 400 ** 0.5
    assert float(lin.weight.abs().max()) > 0.9 / 400 ** 0.5
    ln = torch.nn.LayerNorm(4)
    assert rows("layernorm", "torch") == {"weight": "ones", "bias": "zeros"}
    assert bool((ln.weight == 1).all()) and bool((ln.bias == 0).all())
    mha = torch.nn.MultiheadAttention(8, 2)
    assert bool((mha.in_proj_bias == 0).all()) and rows("attention", "torch")[
        "in_proj_bias"] == "zeros"
