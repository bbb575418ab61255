"""Attention as LLMs use it (grouped-query and multi-query heads, a head size of its
own, per-projection biases, q/k norms, sliding windows) and rotary embeddings, checked
against Hugging Face transformers' models built from config objects on the meta
device (no download, no memory): total, trainable and buffer counts equal
``sum(p.numel() for p in model.parameters())`` and the buffers' numel, at the
published sizes of the zoo's LLaMA, Mistral, Qwen2 and Gemma files and at small random
sizes. Keras's GroupQueryAttention, transformers' Whisper attention (no key bias) and
Qwen3 (q/k norms) check the other arguments; the costs are checked against PyTorch's
FlopCounterMode on transformers' eager attention.

Without transformers (or torch) these tests skip, saying why; with ``CI`` set they
fail instead.
"""
from __future__ import annotations

import random

import pytest
import sympy

import symparam
from symparam import SymparamError
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")


@pytest.fixture(scope="module")
def transformers(hf_transformers):  # conftest: skips (fails in CI) without them
    return hf_transformers


# zoo file, model, transformers config class, the published sizes.
# Symbols map to config fields: vocab -> vocab_size, d_model -> hidden_size, ...
FIELDS = {"vocab": "vocab_size", "d_model": "hidden_size", "n_layers": "num_hidden_layers",
          "n_heads": "num_attention_heads", "n_kv_heads": "num_key_value_heads",
          "d_ff": "intermediate_size", "head_dim": "head_dim", "window": "sliding_window"}
FAMILIES = {
    "llama2_7b": ("llama", "LlamaConfig", dict(
        vocab=32000, d_model=4096, n_layers=32, n_heads=32, n_kv_heads=32, d_ff=11008)),
    "llama3_8b": ("llama", "LlamaConfig", dict(
        vocab=128256, d_model=4096, n_layers=32, n_heads=32, n_kv_heads=8, d_ff=14336)),
    "mistral_7b": ("mistral_7b", "MistralConfig", dict(
        vocab=32000, d_model=4096, n_layers=32, n_heads=32, n_kv_heads=8, d_ff=14336,
        window=4096)),
    "qwen2_7b": ("qwen2_7b", "Qwen2Config", dict(
        vocab=152064, d_model=3584, n_layers=28, n_heads=28, n_kv_heads=4, d_ff=18944)),
    "gemma_7b": ("gemma_7b", "GemmaConfig", dict(
        vocab=256000, d_model=3072, n_layers=28, n_heads=16, n_kv_heads=16, head_dim=256,
        d_ff=24576)),
}


def hf_model(transformers, config_class: str, sizes: dict, device: str = "meta"):
    import torch
    kw = {FIELDS[k]: v for k, v in sizes.items()}
    kw.setdefault("tie_word_embeddings", config_class == "GemmaConfig")
    cfg = getattr(transformers, config_class)(**kw)
    with torch.device(device):
        return transformers.AutoModelForCausalLM.from_config(cfg)


def hf_counts(model) -> tuple[int, int, int]:
    params = list(model.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad),
            sum(b.numel() for b in model.buffers()))


def symparam_counts(s) -> tuple[int, int, int]:
    return s.value(s.total), s.value(s.trainable), s.value(s.buffers)


def random_sizes(rng: random.Random, name: str) -> dict:
    """Small sizes that the family's config accepts: kv_heads divides heads; the
    default head size d / heads is even (rotary), or Gemma's own head_dim is."""
    heads = rng.choice([2, 3, 4, 6, 8])
    kv = rng.choice([g for g in range(1, heads + 1) if heads % g == 0])
    sizes = dict(vocab=rng.randint(5, 300), n_layers=rng.randint(1, 3), n_heads=heads,
                 n_kv_heads=kv, d_ff=rng.randint(1, 80), d_model=heads * 2 * rng.randint(1, 6))
    if name == "gemma_7b":
        sizes.update(head_dim=2 * rng.randint(1, 20), d_model=rng.randint(2, 60))
    if name == "mistral_7b":
        sizes["window"] = rng.randint(1, 64)
    return sizes


CASES = [(name, "published", FAMILIES[name][2]) for name in FAMILIES] + [
    (name, f"random{seed}", random_sizes(random.Random(seed * 31 + i), name))
    for i, name in enumerate(FAMILIES) for seed in range(3)]


@pytest.mark.oracle
@pytest.mark.parametrize("name, which, sizes", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_zoo_llms_match_transformers(transformers, name, which, sizes):
    file, config_class, _ = FAMILIES[name]
    model = hf_model(transformers, config_class, sizes)
    s = symparam.analyze(ZOO / f"{file}.symp", model=name, values=sizes)
    assert symparam_counts(s) == hf_counts(model), sizes


# ---- arguments the zoo does not use, against the frameworks' own modules ----------
def one_layer(line: str, convention: str = "torch", d: int = 24, t: int = 7):
    src = (f"convention {convention}\nmodel m(T = {t}, d = {d}):\n"
           f"    input [T, 8] as other\n    input [T, d]\n    {line}\n")
    return symparam.analyze(src)


def weights(s) -> dict[str, tuple]:
    layer = s.layers[-1]
    return {w.name: tuple(int(s.value(v)) for v in w.shape) for w in layer.weights}


@pytest.mark.oracle
@pytest.mark.parametrize("norm", ["rmsnorm", None])
def test_qwen3_q_k_norms_match_transformers(transformers, norm):
    """Qwen3 normalizes each query and key head (q_norm, k_norm: head_dim weights)."""
    import torch
    cfg = transformers.Qwen3Config(vocab_size=50, hidden_size=24, intermediate_size=10,
                                   num_hidden_layers=1, num_attention_heads=4,
                                   num_key_value_heads=2, head_dim=10)
    with torch.device("meta"):
        attn = transformers.AutoModelForCausalLM.from_config(cfg).model.layers[0].self_attn
    want = {n: tuple(p.shape) for n, p in attn.named_parameters()}
    if norm is None:
        want = {n: v for n, v in want.items() if "norm" not in n}
    line = "attention 4, kv_heads = 2, head_dim = 10, bias = false"
    got = weights(one_layer(line + (f", qk_norm = {norm}" if norm else "")))
    assert got == want


@pytest.mark.oracle
def test_whisper_attention_without_a_key_bias(transformers):
    from transformers.models.whisper.modeling_whisper import WhisperAttention
    attn = WhisperAttention(embed_dim=24, num_heads=4)
    want = sorted(tuple(p.shape) for p in attn.parameters())
    s = one_layer("attention 4, kv_heads = 4, k_bias = false")
    assert sorted(weights(s).values()) == want
    assert s.value(s.total) == sum(p.numel() for p in attn.parameters())


@pytest.mark.oracle
@pytest.mark.parametrize("heads, kv, head_dim", [(4, 2, 8), (6, 1, 5), (3, 3, 4)])
def test_keras_group_query_attention(frameworks, heads, kv, head_dim):
    keras = frameworks["keras"]
    layer = keras.layers.GroupQueryAttention(head_dim=head_dim, num_query_heads=heads,
                                             num_key_value_heads=kv)
    x = keras.Input((7, 24))
    layer(x, x)
    want = {w.path.split("/", 1)[1]: tuple(w.shape) for w in layer.weights}
    s = one_layer(f"attention {heads}, {head_dim}, kv_heads = {kv}", "keras")
    assert weights(s) == want
    assert s.layers[-1].type == type(layer).__name__
    assert s.value(s.total) == layer.count_params()


# ---- costs -------------------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("name", ["llama3_8b", "qwen2_7b", "gemma_7b"])
def test_cost_matches_flop_counter_on_eager_attention(transformers, name):
    """transformers' eager attention computes every score (the mask only hides some):
    without ``causal`` symparam's MACs are FlopCounterMode's FLOPs / 2, QK^T and AV
    included (rotary and norms are element operations, which it does not count)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    file, config_class, _ = FAMILIES[name]
    sizes = random_sizes(random.Random(7), name)
    t = 9
    model = hf_model(transformers, config_class, sizes, device="cpu")
    model.config._attn_implementation = "eager"
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, t, dtype=torch.long))
    src = (ZOO / f"{file}.symp").read_text().replace("causal = true", "causal = false")
    s = symparam.analyze(src, model=name, values={**sizes, "T": t})
    assert 2 * s.value(s.macs) == counter.get_total_flops()


T, d, w, h, g, k = sympy.symbols("T d w h g k")


def NAMES(s):  # noqa: N802 - our plain symbols -> the model's own (with assumptions)
    return {sympy.Symbol(x.name): x for x in s.total.free_symbols}


def attention_macs(options: str, values: dict | None = None):
    src = ("convention torch\nmodel m(T = 10, d = 32, w = 4, h = 4, g = 2, k = 8):\n"
           f"    input [T, d]\n    attention h, kv_heads = g, head_dim = k{options}\n")
    s = symparam.analyze(src, values=values)
    return s.value(s.macs)


@pytest.mark.parametrize("options, scores", [
    ("", 10 * 10),                                 # every query scores every key
    (", causal = true", 10 * 10 // 2),             # the half-square convention
    (", window = 4", 10 * 4),                      # each query sees 4 keys
    (", window = 40", 10 * 10),                    # a window longer than the sequence
    (", window = 4, causal = true", 10 * 4 - 4 * 4 // 2),
    (", window = 40, causal = true", 10 * 10 // 2),
])
def test_masks_change_the_scores_counted(options, scores):
    # q and o: 10 x 32 x (4 x 8) each; k and v: 10 x 32 x (2 x 8) each; QK^T and AV:
    # 4 heads x scores x 8 each.
    projections = 2 * 10 * 32 * 32 + 2 * 10 * 32 * 16
    assert attention_macs(options) == projections + 2 * 4 * scores * 8


def test_masks_change_no_weight():
    plain = one_layer("attention 4, kv_heads = 2")
    masked = one_layer("attention 4, kv_heads = 2, causal = true, window = 3")
    assert plain.total == masked.total


# ---- the weights, by name and formula ----------------------------------------------
def test_llm_layout_names_and_shapes():
    s = one_layer("attention 4, kv_heads = 2, head_dim = 10, bias = qkv, qk_norm = layernorm")
    assert weights(s) == {
        "q_proj.weight": (40, 24), "q_proj.bias": (40,),
        "k_proj.weight": (20, 24), "k_proj.bias": (20,),
        "v_proj.weight": (20, 24), "v_proj.bias": (20,),
        "o_proj.weight": (24, 40),
        "q_norm.weight": (10,), "q_norm.bias": (10,),
        "k_norm.weight": (10,), "k_norm.bias": (10,)}


@pytest.mark.parametrize("options, formula", [
    ("bias = false", 2 * d * h * k + 2 * d * g * k),
    ("bias = true", 2 * d * h * k + 2 * d * g * k + h * k + 2 * g * k + d),
    ("kv_heads = g", 2 * d * h * k + 2 * d * g * k + h * k + 2 * g * k + d),  # bias: true
    ("bias = qkv", 2 * d * h * k + 2 * d * g * k + h * k + 2 * g * k),
    ("bias = qkv, v_bias = false", 2 * d * h * k + 2 * d * g * k + h * k + g * k),
    ("bias = false, out_bias = true", 2 * d * h * k + 2 * d * g * k + d),
    ("bias = false, qk_norm = rmsnorm", 2 * d * h * k + 2 * d * g * k + 2 * k),
])
def test_llm_formulas(options, formula):
    options = options.replace("kv_heads = g", "num_kv_heads = g")  # an alias
    src = ("convention torch\nmodel m(T = 10, d = 32, h = 4, g = 2, k = 8):\n"
           f"    input [T, d]\n    attention h, kv_heads = g, head_dim = k, {options}\n"
           if "kv_heads" not in options else
           "convention torch\nmodel m(T = 10, d = 32, h = 4, g = 2, k = 8):\n"
           f"    input [T, d]\n    attention h, head_dim = k, {options}\n")
    s = symparam.analyze(src, symbolic=True)
    assert sympy.expand(s.total - formula.subs(NAMES(s))) == 0, s.total


def test_multi_query_attention_has_one_key_and_value_head():
    s = one_layer("attention 4, kv_heads = 1, bias = false")  # head size 24 / 4 = 6
    assert weights(s)["k_proj.weight"] == (6, 24)
    assert s.value(s.total) == 2 * 24 * 24 + 2 * 6 * 24


def test_rotary_buffers_follow_the_convention():
    torch_ = one_layer("rotary 8")
    keras_ = one_layer("rotary 8", "keras")
    assert (torch_.value(torch_.total), torch_.value(torch_.buffers)) == (0, 8)
    assert (keras_.value(keras_.total), keras_.value(keras_.buffers)) == (0, 0)


# ---- one clear message per bad input -----------------------------------------------
@pytest.mark.parametrize("line, convention, message", [
    ("attention 4, kv_heads = 3", "torch", "kv_heads = 3 must divide heads = 4"),
    ("attention 5, kv_heads = 5", "torch", "must be divisible by 5 heads"),
    ("rotary 7", "torch", "dim = 7 must be even"),
    ("attention 4, bias = qv", "torch", "expected true, false or qkv"),
    ("attention 4, 6, bias = qkv", "keras", "per-projection biases need convention torch"),
    ("attention 4, 6, qk_norm = rmsnorm", "keras", "qk_norm is not an option of Keras"),
    ("attention 4, qk_norm = batchnorm", "torch", "expected one of rmsnorm, layernorm"),
    ("attention 4, kv_heads = 2, add_bias_kv = true", "torch",
     "add_bias_kv is not an option of the LLM attention"),
    ("attention 4, kv_heads = 2", "keras", "needs key_dim"),
    ("attention 4, 6, kv_heads = 2, value_dim = 3", "keras",
     "value_dim is an option of Keras's MultiHeadAttention, not of GroupQueryAttention"),
    ("attention 4, head_dim = 10", "torch", "a head has a size of its own"),
    ("attention 4, 6, kv_heads = 2, value = other", "keras",
     "GroupQueryAttention \\(kv_heads\\) needs the key as wide as the query \\(8 vs d\\)"),
])
def test_bad_arguments(line, convention, message):
    with pytest.raises(SymparamError, match=message):
        one_layer(line, convention)


def test_value_dependent_checks_wait_for_values():
    src = ("convention torch\nmodel m(T = 10, d = 24, h = 4, g = 2, r = 6):\n"
           "    input [T, d]\n    rotary r\n    attention h, kv_heads = g\n")
    s = symparam.analyze(src, symbolic=True)  # no values: nothing to refuse yet
    want = (2 * d**2 + 2 * d * g * (d / h) + 2 * d + 2 * g * d / h).subs(NAMES(s))
    assert sympy.expand(s.total - want) == 0, s.total
    at_defaults = symparam.analyze(src)
    assert at_defaults.value(at_defaults.total) == 2 * 24 * 24 + 2 * 12 * 24 + 2 * 24 + 2 * 12
    with pytest.raises(SymparamError, match=r"kv_heads = g must divide heads = h .*g = 3"):
        symparam.analyze(src, values={"g": 3})
    with pytest.raises(SymparamError, match=r"dim = r must be even .*r = 5"):
        symparam.analyze(src, values={"r": 5})


# ---- the docs' example ----------------------------------------------------------------
@pytest.mark.oracle
def test_language_md_llm_example_matches_transformers(transformers):
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text(
        encoding="utf-8")
    block = next(b for b in re.findall(r"```symparam\n(.*?)```", text, re.S)
                 if "model tiny_llama" in b)
    s = symparam.analyze(block)
    sizes = dict(vocab=1000, d_model=64, n_layers=2, n_heads=8, n_kv_heads=2, d_ff=176)
    total, trainable, buffers = hf_counts(hf_model(transformers, "LlamaConfig", sizes))
    assert symparam_counts(s) == (total, trainable, buffers)
    assert f"It has {total:,} parameters and {buffers} buffer elements" in text
    attention = next(layer for layer in s.layers if layer.kind == "attention")
    per_layer = s.value(sum(w.size for w in attention.weights))
    assert per_layer == 2 * 64 * 64 + 2 * 64 * 16
    assert f"= {per_layer:,} weights" in text
    scores = 8 * 128 * 128 // 2 * 8 * 2  # heads x T²/2 x head_dim, QK^T and AV
    projections = 128 * (2 * 64 * 64 + 2 * 64 * 16)
    assert s.value(attention.cost.macs / attention.multiplier) == projections + scores
    assert f"({scores:,} MACs per layer)" in text


def test_causal_counts_the_learned_key_step_as_before():
    # nn.MultiheadAttention's add_bias_kv adds a key step: S = T + 1 keys, half of the
    # T x S scores under causal (the convention before windows existed).
    s = one_layer("attention 4, add_bias_kv = true, causal = true")
    assert s.value(s.macs) == 4 * 7 * 24 * 24 + (7 * 8 // 2) * 2 * 24
