"""Costs: MACs per layer and in total, against PyTorch's own counter
(``torch.utils.flop_counter.FlopCounterMode``) on random shapes, against hand
derivations, and Kaplan et al. 2020's Table 1 identities.

FlopCounterMode counts 2 FLOPs per multiply-accumulate of the matrix products
(mm, addmm, bmm) and convolutions; it ignores bias additions (addmm's and the
convolution's bias), activations, softmax and other element operations. So its total
for a batch of B must be 2 x B x symparam's MACs, exactly.
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

import symparam
from symparam.cli import main
from symparam.costs import Cost, FlopConvention

ROOT = Path(__file__).resolve().parent.parent
KAPLAN = ROOT / "docs" / "examples" / "kaplan.symp"
BATCH = 2


def _stats(body: str, convention: str = "torch", **values):
    return symparam.analyze(f"convention {convention}\nmodel m():\n" + body,
                            values=values or None)


def _counted(fn) -> int:
    """FLOPs that FlopCounterMode counts while ``fn`` runs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def _dims(xs) -> str:
    return "[" + ", ".join(str(x) for x in xs) + "]"


# ---- PyTorch's counter: dense, convolutions, attention -----------------------------

def _dense_cases(n=12):
    rng = random.Random(5001)
    for _ in range(n):
        rank = rng.randint(0, 3)
        yield ([rng.randint(1, 6) for _ in range(rank)], rng.randint(1, 40),
               rng.randint(1, 40), rng.random() < 0.5)


@pytest.mark.oracle
@pytest.mark.parametrize("lead, n, units, bias", list(_dense_cases()))
def test_dense_against_flop_counter(lead, n, units, bias):
    import torch
    s = _stats(f"    input {_dims([*lead, n])}\n    dense {units}, bias = {str(bias).lower()}\n")
    layer = torch.nn.Linear(n, units, bias=bias)
    x = torch.randn(BATCH, *lead, n)
    assert _counted(lambda: layer(x)) == 2 * BATCH * s.value(s.macs)


def _window(rng, rank: int, top: int):
    """Random groups, channels, kernel, stride, dilation and padding of a convolution."""
    g = rng.choice([1, 1, 2, 3][:top + 1])
    c, f = g * rng.randint(1, top + 1), g * rng.randint(1, top + 1)
    return (g, c, f, *([rng.randint(lo, hi) for _ in range(rank)]
                       for lo, hi in ((1, top + 1), (1, 3), (1, 2), (0, top))))


def _conv_cases(n=24):
    rng = random.Random(5002)
    for i in range(n):
        rank = 1 + i % 3
        g, c, f, k, stride, dil, pad = _window(rng, rank, 3)
        spatial = [max(1, d * (kk - 1) + 1 - 2 * p) + rng.randint(0, 5 if rank < 3 else 3)
                   for kk, d, p in zip(k, dil, pad)]
        yield rank, c, f, k, stride, dil, pad, g, spatial, rng.random() < 0.5


@pytest.mark.oracle
@pytest.mark.parametrize("rank, c, f, k, stride, dil, pad, g, spatial, bias",
                         list(_conv_cases()))
def test_conv_against_flop_counter(rank, c, f, k, stride, dil, pad, g, spatial, bias):
    import torch
    conv = getattr(torch.nn, f"Conv{rank}d")(c, f, k, stride=stride, padding=pad,
                                             dilation=dil, groups=g, bias=bias)
    _compare_conv(f"conv{rank}d {f}, {_dims(k)}, stride = {_dims(stride)}, padding = "
                  f"{_dims(pad)}, dilation = {_dims(dil)}, groups = {g}, "
                  f"bias = {str(bias).lower()}", conv, [c, *spatial])


def _compare_conv(layer: str, module, shape):
    """The layer's output shape and 2 x batch x its MACs, against the module's."""
    import torch
    s = _stats(f"    input {_dims(shape)}\n    {layer}\n")
    x = torch.randn(BATCH, *shape)
    assert tuple(module(x).shape[1:]) == tuple(s.value(d) for d in s.layers[-1].output_shape)
    assert _counted(lambda: module(x)) == 2 * BATCH * s.value(s.macs)


def _transpose_cases(n=9):
    rng = random.Random(5003)
    for i in range(n):
        rank = 1 + i % 3
        g, c, f, k, stride, dil, pad = _window(rng, rank, 1)
        ops = [rng.randint(0, max(s, d) - 1) for s, d in zip(stride, dil)]
        yield rank, c, f, k, stride, dil, pad, ops, g, [rng.randint(2, 5) for _ in range(rank)]


@pytest.mark.oracle
@pytest.mark.parametrize("rank, c, f, k, stride, dil, pad, ops, g, spatial",
                         list(_transpose_cases()))
def test_conv_transpose_against_flop_counter(rank, c, f, k, stride, dil, pad, ops, g, spatial):
    import torch
    conv = getattr(torch.nn, f"ConvTranspose{rank}d")(c, f, k, stride=stride, padding=pad,
                                                      output_padding=ops, dilation=dil,
                                                      groups=g)
    _compare_conv(f"conv{rank}d_transpose {f}, {_dims(k)}, stride = {_dims(stride)}, "
                  f"padding = {_dims(pad)}, dilation = {_dims(dil)}, groups = {g}, "
                  f"output_padding = {_dims(ops)}", conv, [c, *spatial])


def _keras_conv_cases(n=8):
    rng = random.Random(5006)
    for i in range(n):
        kind = ("conv2d", "depthwise_conv2d", "separable_conv2d", "conv2d_transpose")[i % 4]
        k = [rng.randint(1, 3), rng.randint(1, 3)]
        stride = rng.randint(1, 2)
        yield (kind, k, stride, rng.choice(["valid", "same"]), rng.randint(1, 3),
               [rng.randint(4, 9), rng.randint(4, 9), rng.randint(1, 4)])


@pytest.mark.oracle
@pytest.mark.parametrize("kind, k, stride, padding, m, shape", list(_keras_conv_cases()))
def test_keras_convolutions_against_flop_counter(kind, k, stride, padding, m, shape,
                                                 frameworks):
    """Keras's Conv2D, DepthwiseConv2D, SeparableConv2D and Conv2DTranspose on the
    torch backend (channels last)."""
    import keras
    import torch
    f = m + 1  # output channels, or the depth multiplier
    make = {"conv2d": lambda: keras.layers.Conv2D(f, k, strides=stride, padding=padding),
            "depthwise_conv2d": lambda: keras.layers.DepthwiseConv2D(
                k, strides=stride, padding=padding, depth_multiplier=m),
            "separable_conv2d": lambda: keras.layers.SeparableConv2D(
                f, k, strides=stride, padding=padding, depth_multiplier=m),
            "conv2d_transpose": lambda: keras.layers.Conv2DTranspose(
                f, k, strides=stride, padding=padding)}
    args = {"conv2d": f"{f}, {_dims(k)}", "depthwise_conv2d": f"{_dims(k)}, "
            f"depth_multiplier = {m}", "separable_conv2d": f"{f}, {_dims(k)}, "
            f"depth_multiplier = {m}", "conv2d_transpose": f"{f}, {_dims(k)}"}[kind]
    s = _stats(f"    input {_dims(shape)}\n    {kind} {args}, stride = {stride}, "
               f"padding = {padding}\n", convention="keras")
    layer = make[kind]()
    x = torch.randn(BATCH, *shape)
    layer(x)  # build
    assert _counted(lambda: layer(x)) == 2 * BATCH * s.value(s.macs)


def _attention_cases(n=10):
    rng = random.Random(5004)
    for _ in range(n):
        h = rng.randint(1, 4)
        e = h * rng.randint(1, 5)
        cross = rng.random() < 0.6
        kd, vd = (rng.randint(1, 12), rng.randint(1, 12)) if cross else (e, e)
        yield (h, e, rng.randint(1, 9), rng.randint(1, 9) if cross else None, kd, vd,
               rng.random() < 0.5, rng.random() < 0.3)


@pytest.mark.oracle
@pytest.mark.parametrize("h, e, t, s_len, kd, vd, bias, bias_kv", list(_attention_cases()))
def test_torch_attention_against_flop_counter(h, e, t, s_len, kd, vd, bias, bias_kv):
    """nn.MultiheadAttention (need_weights=True runs bmm, which the counter sees; its
    CPU fused kernel for need_weights=False is not in the counter's table)."""
    import torch
    flags = f", bias = {str(bias).lower()}, add_bias_kv = {str(bias_kv).lower()}"
    if s_len is None:
        src = f"    input [{t}, {e}]\n    attention {h}{flags}\n"
    else:
        src = (f"    input [{s_len}, {kd}] as k\n    input [{s_len}, {vd}] as v\n"
               f"    input [{t}, {e}]\n    attention {h}, key = k, value = v{flags}\n")
    s = _stats(src)
    mha = torch.nn.MultiheadAttention(e, h, bias=bias, add_bias_kv=bias_kv, kdim=kd,
                                      vdim=vd, batch_first=True)
    q = torch.randn(BATCH, t, e)
    k = q if s_len is None else torch.randn(BATCH, s_len, kd)
    v = q if s_len is None else torch.randn(BATCH, s_len, vd)
    assert _counted(lambda: mha(q, k, v, need_weights=True)) == 2 * BATCH * s.value(s.macs)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(5))
def test_keras_attention_against_flop_counter(seed, frameworks):
    """Keras's MultiHeadAttention on the torch backend (its einsums run as bmm), with
    value_dim, output_shape and queries of rank 2 or 3 (attention over every axis
    but the last)."""
    import keras
    import torch
    rng = random.Random(5005 + seed)
    # Every contracted size is at least 2: torch's einsum turns a contraction over one
    # element into a broadcast multiply, which the counter does not see.
    h, out = rng.randint(1, 4), rng.randint(1, 4)
    k, vd = rng.randint(2, 4), rng.randint(2, 4)
    lead = [rng.randint(1, 4) for _ in range(rng.randint(1, 2))]
    t, s_len, d, dv = rng.randint(1, 6), rng.randint(2, 6), rng.randint(2, 9), rng.randint(2, 9)
    s = _stats(f"    input {_dims([*lead[:-1], s_len, dv])} as v\n"
               f"    input {_dims([*lead[:-1], t, d])}\n"
               f"    attention {h}, {k}, value_dim = {vd}, output_shape = {out}, value = v\n",
               convention="keras")
    layer = keras.layers.MultiHeadAttention(h, k, value_dim=vd, output_shape=out)
    q = torch.randn(BATCH, *lead[:-1], t, d)
    v = torch.randn(BATCH, *lead[:-1], s_len, dv)
    layer(q, v)  # build
    assert _counted(lambda: layer(q, v)) == 2 * BATCH * s.value(s.macs)


# ---- hand derivations -----------------------------------------------------------------

T, n, u, d, L, H = sympy.symbols("T n u d L H", integer=True, positive=True)


def _sym(body: str, convention: str = "keras", symbols: str = "T, n, u"):
    return symparam.analyze(f"convention {convention}\nmodel m({symbols}):\n" + body)


@pytest.mark.parametrize("convention", ["keras", "torch"])
def test_recurrent_macs_per_step(convention):
    """LSTM: 4u(n + u) MACs per step (4 gates read the input and the state), x T;
    GRU 3u(n + u), simple RNN u(n + u); both directions double them."""
    for kind, g in (("lstm", 4), ("gru", 3), ("simple_rnn", 1)):
        s = _sym(f"    input [T, n]\n    {kind} u\n", convention)
        assert sympy.expand(s.macs - g * u * (n + u) * T) == 0
        s = _sym(f"    input [T, n]\n    {kind} u, bidirectional = true\n", convention)
        assert sympy.expand(s.macs - 2 * g * u * (n + u) * T) == 0
    # Stacked: the second layer reads the first's state (u wide).
    s = _sym("    input [T, n]\n    lstm u, num_layers = 2\n", convention)
    assert sympy.expand(s.macs - T * (4 * u * (n + u) + 4 * u * (u + u))) == 0


def test_recurrent_biases_per_convention():
    """Keras adds one bias vector per step, PyTorch two (b_ih and b_hh)."""
    k = _sym("    input [T, n]\n    lstm u\n", "keras")
    t = _sym("    input [T, n]\n    lstm u\n", "torch")
    assert (k.cost.bias, t.cost.bias) == (4 * u * T, 8 * u * T)


def test_attention_has_the_quadratic_terms():
    s = _sym("    input [T, d]\n    attention H, d / H\n", symbols="T, d, H")
    # projections 4Td², QK^T and AV: T² d each; softmax over H T² scores.
    assert sympy.expand(s.macs - (4 * T * d**2 + 2 * T**2 * d)) == 0
    assert s.cost.activations == H * T**2
    causal = _sym("    input [T, d]\n    attention H, d / H, causal = true\n", symbols="T, d, H")
    assert sympy.expand(causal.macs - (4 * T * d**2 + T**2 * d)) == 0
    assert causal.total == s.total  # a mask changes no weight


def test_causal_attention_needs_as_many_query_as_key_steps():
    with pytest.raises(symparam.SymparamError, match="causal mask needs as many"):
        symparam.analyze("model m():\n    input [5, 8] as kv\n    input [4, 8]\n"
                         "    attention 2, 4, value = kv, causal = true\n")


def test_pooling_norms_and_merges_by_hand():
    s = symparam.analyze("model m():\n    input [8, 8, 3]\n    maxpool2d 2\n"
                         "    global_avgpool2d\n")
    pool, glob = (layer.cost for layer in s.layers[1:])
    assert pool == Cost(elementwise=4 * 4 * 3 * 4)      # 48 outputs x a 2x2 window
    assert glob == Cost(elementwise=4 * 4 * 3)          # every input element once
    s = symparam.analyze("model m():\n    input [5, 6]\n    batchnorm\n    layernorm\n"
                         "    rmsnorm\n")
    bn, ln, rms = (layer.cost for layer in s.layers[1:])
    assert bn == Cost(bias=30, elementwise=30 * 3)      # normalize 2 + scale 1; shift = bias
    assert ln == Cost(bias=30, elementwise=30 * 6)      # statistics 3 + normalize 2 + scale 1
    assert rms == Cost(elementwise=30 * 3)
    assert s.macs == 0
    s = symparam.analyze("model m():\n    input [4] as a\n    dense 4 as b\n    add a\n")
    assert s.layers[-1].cost == Cost(elementwise=4)


def test_a_repeat_multiplies_the_cost_without_unrolling():
    s = _sym("    input [T, d]\n    repeat L:\n        dense d\n", symbols="T, d, L")
    assert s.macs == L * T * d**2 and len(s.layers) == 2


def test_a_kind_that_states_no_cost_is_named_not_counted_as_zero():
    s = symparam.analyze("convention torch\nmodel m():\n    input [3, 4, 4]\n"
                         "    upsample2d 2, mode = area\n    conv2d 2, 1\n")
    assert s.uncounted == ("up_sampling2d",)
    assert s.layers[1].macs is None
    assert s.value(s.macs) == 8 * 8 * 3 * 2


def test_flop_conventions():
    s = symparam.analyze("model m(n = 4, h = 2):\n    input [n]\n"
                         "    dense h, activation = relu\n")
    macs = s.macs
    assert s.flops() == 2 * macs
    assert s.flops(flops_per_mac=1) == macs
    h = sympy.Symbol("h", integer=True, positive=True)
    assert s.flops(bias=True, activations=True) == 2 * macs + 2 * h
    assert s.flops(backward=True) == 6 * macs
    assert s.flops(FlopConvention(backward=True, backward_factor=2)) == 4 * macs


# ---- Kaplan et al. 2020, Table 1 -------------------------------------------------------

def _kaplan(**values):
    stats = symparam.analyze(KAPLAN.read_text(), values=values or None, symbolic=not values)
    syms = {s.name: s for s in stats.symbols}
    return stats, syms


def test_kaplan_non_embedding_parameters():
    """N = 2 d_model n_layer (2 d_attn + d_ff) = 12 n_layer d_model² with d_attn =
    d_model, d_ff = 4 d_model: every parameter but the embeddings'."""
    s, v = _kaplan()
    embeddings = sum(layer.params for layer in s.layers if layer.kind == "embedding")
    n_params = s.total - embeddings
    d_model, n_layer, d_attn, d_ff = v["d_model"], v["n_layer"], v["d_attn"], v["d_ff"]
    assert sympy.expand(n_params - 2 * d_model * n_layer * (2 * d_attn + d_ff)) == 0
    standard = n_params.subs({d_attn: d_model, d_ff: 4 * d_model})
    assert sympy.expand(standard - 12 * n_layer * d_model**2) == 0


def test_kaplan_forward_cost_per_token():
    """C_forward = 2N + 2 n_layer n_ctx d_attn FLOPs per token: the FLOPs of the
    non-embedding layers (those of the repeat) per example, divided by n_ctx."""
    s, v = _kaplan()
    embeddings = sum(layer.params for layer in s.layers if layer.kind == "embedding")
    n_params = s.total - embeddings
    blocks = [layer for layer in s.layers if any(p.startswith("repeat") for p in layer.path)]
    per_token = sum(FlopConvention().flops(layer.cost) for layer in blocks) / v["n_ctx"]
    kaplan = 2 * n_params + 2 * v["n_layer"] * v["n_ctx"] * v["d_attn"]
    assert sympy.expand(per_token - kaplan) == 0
    # The de-embedding, which Table 1 lists apart, costs 2 d_model n_vocab per token.
    deembed = next(layer for layer in s.layers if layer.name == "deembed")
    assert sympy.expand(FlopConvention().flops(deembed.cost) / v["n_ctx"]
                        - 2 * v["d_model"] * v["n_vocab"]) == 0


def test_kaplan_command_prints_the_convention_and_the_terms():
    r = CliRunner().invoke(main, ["cost", str(KAPLAN), "--per", "n_ctx", "--symbolic"])
    assert r.exit_code == 0, r.output
    assert "1 MAC = 2 FLOPs" in r.output
    assert "d_attn*n_ctx*n_layer" in r.output  # the context term, per token


# ---- the command line -------------------------------------------------------------------

def test_cost_command_json_and_switches():
    src = KAPLAN
    r = CliRunner().invoke(main, ["cost", str(src), "--json", "--flops-per-mac", "1",
                                  "--with-bias", "--backward"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    conv = data["flop_convention"]
    assert (conv["flops_per_mac"], conv["bias"], conv["backward"]) == (1, True, True)
    total = data["total"]
    assert total["flops"]["value"] == 3 * (total["macs"]["value"] + total["bias"]["value"])
    s = symparam.analyze(src.read_text())
    assert total["macs"]["value"] == s.value(s.macs)


def test_cost_command_errors():
    r = CliRunner().invoke(main, ["cost", str(KAPLAN), "--per", "n_cxt"])
    assert r.exit_code != 0 and "did you mean 'n_ctx'" in r.output
    r = CliRunner().invoke(main, ["cost", str(KAPLAN), "--flops-per-mac", "3"])
    assert r.exit_code != 0


def test_sweep_macs_and_flops():
    r = CliRunner().invoke(main, ["sweep", str(KAPLAN), "-g", "n_layer=1,2", "--metric",
                                  "macs,flops", "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = [line.split(",") for line in r.output.splitlines()
            if re.fullmatch(r"[0-9]+(,[0-9]+)+", line)]
    s = symparam.analyze(KAPLAN.read_text(), values={"n_layer": 2})
    assert rows[1] == ["2", str(s.value(s.macs)), str(2 * s.value(s.macs))]


# ---- published figures ------------------------------------------------------------------

@pytest.mark.parametrize("path, model, published", [
    # torchvision's model pages list "GFLOPS" that are multiply-accumulates (fvcore's
    # count) at 224 x 224, to two decimals: ResNet50_Weights.IMAGENET1K_V1 4.09, ...
    ("benchmarks/models/resnet50_torchvision.symp", "resnet50", "4.09"),
    ("zoo/resnet18.symp", "resnet18", "1.81"),
    ("zoo/vgg16.symp", "vgg16", "15.47"),
    ("zoo/alexnet.symp", "alexnet", "0.71"),
])
def test_torchvision_published_gmacs(path, model, published):
    s = symparam.analyze(symparam.parse_file(ROOT / path), model=model,
                         values={"H": 224, "W": 224})
    assert f"{s.value(s.macs) / 1e9:.2f}" == published


# ---- whole models, built in PyTorch by the oracle --------------------------------------

def _whole_model_flops(source: str, monkeypatch, **values) -> tuple[int, int]:
    """(FlopCounterMode's FLOPs, 2 x batch x symparam's MACs) of a model built in
    PyTorch by the oracle (tests/oracle).

    The counter sees only the ops it has formulas for, so three fused CPU kernels are
    turned off, each for a plain path that computes the same: attention runs with
    need_weights=True and without the inference fast path (QK^T and AV then run as
    bmm), and LSTMs without oneDNN (their steps then run as addmm)."""
    import torch
    from oracle.graph import build_graph
    from oracle.torch_build import GraphModule
    forward = torch.nn.MultiheadAttention.forward
    monkeypatch.setattr(torch.nn.MultiheadAttention, "forward",
                        lambda self, *a, **k: forward(self, *a, **{**k, "need_weights": True}))
    stats = symparam.analyze(source, values=values or None)
    graph = build_graph(stats)
    model = GraphModule(graph).eval()
    batch = [torch.zeros((BATCH, *n.output_shape),
                         dtype=torch.long if n.id in graph.int_inputs else torch.float32)
             for n in graph.inputs]
    fast = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.backends.mkldnn.flags(enabled=False):
            counted = _counted(lambda: model(*batch))
    finally:
        torch.backends.mha.set_fastpath_enabled(fast)
    return counted, 2 * BATCH * stats.value(stats.macs)


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(40))
def test_random_models_against_flop_counter(seed, monkeypatch, frameworks):
    """Random models of every layer kind (tests/oracle/generate.py), convention torch.
    The oracle's attention computes every score, so causal and window masks are removed."""
    from oracle.generate import generate
    source = re.sub(r", window = \d+", "", generate(seed, "torch").replace(", causal = true", ""))
    counted, ours = _whole_model_flops(source, monkeypatch)
    assert counted == ours, source


@pytest.mark.oracle
@pytest.mark.parametrize("path, values", [("zoo/alexnet.symp", {"H": 96, "W": 96}),
                                          ("zoo/resnet18.symp", {"H": 64, "W": 64})])
def test_zoo_models_against_flop_counter(path, values, monkeypatch, frameworks):
    counted, ours = _whole_model_flops((ROOT / path).read_text(), monkeypatch, **values)
    assert counted == ours


@pytest.mark.oracle
@pytest.mark.parametrize("layer", ["lstm 5, num_layers = 2, bidirectional = true",
                                   "lstm 6, proj_size = 3", "gru 4, bidirectional = true",
                                   "simple_rnn 3, num_layers = 3"])
def test_recurrent_layers_against_flop_counter(layer, monkeypatch, frameworks):
    """nn.LSTM (oneDNN off), nn.GRU and nn.RNN: T x gates·u·(n + u) per direction and
    layer, with proj_size, stacking and both directions."""
    counted, ours = _whole_model_flops(f"convention torch\nmodel m():\n    input [7, 4]\n"
                                       f"    {layer}\n", monkeypatch)
    assert counted == ours


# ---- the docs show real output --------------------------------------------------------

def _analysis_md_sessions():
    text = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        command, _, output = block.partition("\n")
        mine = any(w in command for w in ("symparam cost", "kaplan", "flops", "macs"))
        if mine and "\n...\n" not in output:
            yield pytest.param(command[len("$ symparam "):], output, id=command[2:60])


@pytest.mark.parametrize("command, output", list(_analysis_md_sessions()))
def test_analysis_md_cost_outputs_are_real(command, output, monkeypatch):
    import shlex
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, shlex.split(command))
    assert result.exit_code == 0
    assert result.output.rstrip("\n") == output.rstrip("\n"), command


def test_leading_flops_shares_by_layer_group():
    """GPT-2's forward FLOPs: the feed-forward layers' share is 4d/(T + 6d) as d, L
    and T grow (16 L T d² of 4 L T d (T + 6d)), attention's the rest."""
    from symparam.analysis.leading import leading
    s = symparam.analyze((ROOT / "benchmarks" / "models" / "gpt2.symp").read_text())
    r = leading(s, ["d", "L", "T"], "flops")
    T_, d_ = (next(x for x in s.symbols if x.name == n) for n in ("T", "d"))
    shares = {g.name: g.limit_share for g in r.groups}
    assert sympy.simplify(shares["feed-forward"] - 4 * d_ / (T_ + 6 * d_)) == 0
    assert sympy.simplify(shares["feed-forward"] + shares["attention"] - 1) == 0


def test_per_symbol_values_stay_exact(tmp_path):
    """Divided by a symbol, a figure need not be whole: it prints as an exact fraction."""
    model = tmp_path / "m.symp"
    model.write_text("model m(T = 16, n = 3, k = 10):\n    input [T, n]\n    flatten\n"
                     "    dense k\n")
    r = CliRunner().invoke(main, ["cost", str(model), "--per", "T", "--json"])
    data = json.loads(r.output)
    assert data["total"]["bias"] == {"formula": "k/T", "value": "5/8"}
    assert data["total"]["macs"]["value"] == 16 * 3 * 10 // 16
    r = CliRunner().invoke(main, ["cost", str(model), "--per", "T"])
    assert "bias additions (not counted): k/T = 5/8" in r.output


def test_sweep_names_the_layers_it_cannot_count(tmp_path):
    model = tmp_path / "m.symp"
    model.write_text("convention torch\nmodel m(H = 4):\n    input [3, H, H]\n"
                     "    upsample2d 2, mode = area\n    conv2d 2, 1\n")
    r = CliRunner().invoke(main, ["sweep", str(model), "-g", "H=4,8", "--metric", "macs"])
    assert r.exit_code == 0, r.output
    assert "not in macs/flops (their kinds state no cost): up_sampling2d" in r.output


def test_shared_weights_are_counted_once_but_computed_each_time():
    """`reuse` and `tie` share parameters, not arithmetic."""
    s = symparam.analyze("model m(n = 4):\n    input [n]\n    dense n as a\n    reuse a\n")
    n_ = s.symbols[0]
    assert (s.total, s.macs) == (n_ * (n_ + 1), 2 * n_**2)
    s = symparam.analyze("model m(V = 10, n = 4, T = 3):\n    input [T] as tok\n"
                         "    embedding V, n as e\n    dense V, bias = false, tie = e\n")
    V_, n_, T_ = s.symbols
    assert (s.total, s.macs) == (V_ * n_, T_ * V_ * n_)
