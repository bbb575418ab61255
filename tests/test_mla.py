"""Multi-head latent attention (``mla``: DeepSeek-V2 and V3), checked against Hugging
Face transformers: ``DeepseekV3Attention`` and ``DeepseekV2Attention`` alone (every
weight's name and shape, at small random sizes, with and without a compressed query
and biases), whole DeepSeek-V3 models with every layer dense built from
``DeepseekV3Config`` on the meta device (total, trainable and buffers), and the cost
against PyTorch's FlopCounterMode on transformers' eager attention. Keras has no MLA:
symparam refuses it there with the one message for what a framework cannot express.

Without transformers (or torch) the oracle tests skip, saying why; with ``CI`` set
they fail instead.
"""
from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import sympy

import symparam
from symparam import SourceError, SymparamError
from symparam.analysis.memory import kv_cache_memory
from test_moe import hf_active

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def transformers(hf_transformers):  # conftest: skips (fails in CI) without transformers
    return hf_transformers


# Symbols -> DeepseekV3Config fields.
FIELDS = {"vocab": "vocab_size", "d_model": "hidden_size", "n_layers": "num_hidden_layers",
          "n_heads": "num_attention_heads", "q_rank": "q_lora_rank",
          "kv_rank": "kv_lora_rank", "qk_nope_dim": "qk_nope_head_dim",
          "qk_rope_dim": "qk_rope_head_dim", "v_dim": "v_head_dim",
          "d_ff": "intermediate_size"}


def config(transformers, sizes: dict, family: str = "DeepseekV3Config", **extra):
    kw = {FIELDS[k]: v for k, v in sizes.items() if k in FIELDS}
    # MLA has no key/value heads of its own; the eager forward repeats keys
    # heads // num_key_value_heads times (V3's default of 128 would make that 0).
    kw["num_key_value_heads"] = sizes["n_heads"]
    return getattr(transformers, family)(**kw, **extra)


def random_sizes(rng: random.Random, q_rank: bool = True) -> dict:
    sizes = dict(d_model=rng.randint(2, 40), n_heads=rng.randint(1, 5),
                 kv_rank=rng.randint(1, 20), qk_nope_dim=rng.randint(1, 12),
                 qk_rope_dim=2 * rng.randint(1, 6), v_dim=rng.randint(1, 12))
    sizes["q_rank"] = rng.randint(1, 20) if q_rank else None
    return sizes


def mla_line(sizes: dict, extra: str = "") -> str:
    q = sizes["q_rank"]
    return (f"mla {sizes['n_heads']}, q_rank = {'none' if q is None else q}, "
            f"kv_rank = {sizes['kv_rank']}, qk_nope_dim = {sizes['qk_nope_dim']}, "
            f"qk_rope_dim = {sizes['qk_rope_dim']}, v_dim = {sizes['v_dim']}{extra}")


def one_layer(line: str, d: int = 16, t: int = 7, convention: str = "torch"):
    return symparam.analyze(f"convention {convention}\nmodel m(T = {t}, d = {d}):\n"
                            f"    input [T, d]\n    {line}\n")


def weights(s) -> dict[str, tuple]:
    return {w.name: tuple(int(s.value(v)) for v in w.shape) for w in s.layers[-1].weights}


# ---- the attention alone, against transformers' modules ----------------------------
ALONE = [(seed, q, bias) for seed in range(4) for q in (True, False) for bias in (False, True)]


@pytest.mark.oracle
@pytest.mark.parametrize("family", ["DeepseekV3", "DeepseekV2"])
@pytest.mark.parametrize("seed, q_rank, bias", ALONE)
def test_attention_alone_matches_transformers(transformers, family, seed, q_rank, bias):
    """Every weight by name and shape, in transformers' order: q_a_proj, q_a_layernorm,
    q_b_proj (or q_proj without q_rank: DeepSeek-V2-Lite), kv_a_proj_with_mqa,
    kv_a_layernorm, kv_b_proj, o_proj; attention_bias on q_a, kv_a and o only."""
    import importlib

    import torch
    sizes = random_sizes(random.Random(seed), q_rank)
    if family == "DeepseekV2":  # its config wants the heads to divide hidden_size
        sizes["d_model"] = sizes["n_heads"] * max(1, sizes["d_model"] // sizes["n_heads"])
    package = {"DeepseekV3": "deepseek_v3", "DeepseekV2": "deepseek_v2"}[family]
    module = importlib.import_module(f"transformers.models.{package}.modeling_{package}")
    cfg = config(transformers, sizes, f"{family}Config", attention_bias=bias)
    with torch.device("meta"):
        attn = getattr(module, f"{family}Attention")(cfg, layer_idx=0)
    want = [(n, tuple(p.shape)) for n, p in attn.named_parameters()]
    s = one_layer(mla_line(sizes, f", bias = {'true' if bias else 'false'}"),
                  d=sizes["d_model"])
    assert list(weights(s).items()) == want, sizes
    assert s.value(s.total) == sum(p.numel() for p in attn.parameters())
    assert s.layers[-1].type == "DeepseekV3Attention"


# ---- whole models: every layer dense ----------------------------------------------
def docs_model() -> str:
    text = (DOCS / "language.md").read_text(encoding="utf-8")
    return next(b for b in re.findall(r"```symparam\n(.*?)```", text, re.S)
                if "model tiny_deepseek" in b)


def hf_counts(model) -> tuple[int, int, int]:
    params = list(model.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad),
            sum(b.numel() for b in model.buffers()))


def dense_deepseek(transformers, sizes: dict, device: str = "meta"):
    import torch
    cfg = config(transformers, sizes, first_k_dense_replace=sizes["n_layers"])
    with torch.device(device):
        return transformers.AutoModelForCausalLM.from_config(cfg)


WHOLE = [dict(vocab=1000, d_model=64, n_layers=2, n_heads=4, q_rank=24, kv_rank=16,
              qk_nope_dim=16, qk_rope_dim=8, v_dim=16, d_ff=176)] + [
    {**random_sizes(random.Random(100 + seed)), "vocab": random.Random(seed).randint(5, 300),
     "n_layers": seed % 3 + 1, "d_ff": random.Random(seed).randint(1, 60)}
    for seed in range(5)]


@pytest.mark.oracle
@pytest.mark.parametrize("sizes", WHOLE, ids=[f"sizes{i}" for i in range(len(WHOLE))])
def test_dense_deepseek_v3_matches_transformers(transformers, sizes):
    """The docs' tiny DeepSeek (MLA and a SwiGLU MLP in every layer) at its own sizes
    and at random ones, against DeepseekV3ForCausalLM with first_k_dense_replace =
    num_hidden_layers (no MoE layer): total, trainable, and the rotary embedding's
    buffers (qk_rope_dim / 2 numbers, twice)."""
    s = symparam.analyze(docs_model(), values=sizes)
    assert (s.value(s.total), s.value(s.trainable), s.value(s.buffers)) == hf_counts(
        dense_deepseek(transformers, sizes)), sizes


@pytest.mark.oracle
def test_language_md_example_states_the_counts(transformers):
    text = (DOCS / "language.md").read_text(encoding="utf-8")
    s = symparam.analyze(docs_model())
    total, _, buffers = hf_counts(dense_deepseek(transformers, WHOLE[0]))
    assert s.value(s.total) == total
    assert f"It has {total:,} parameters and {buffers} buffer elements" in text
    attention = next(layer for layer in s.layers if layer.kind == "mla")
    per_layer = s.value(sum(w.size for w in attention.weights))
    assert f"{per_layer:,} weights" in text


# ---- costs --------------------------------------------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("seed, q_rank", [(0, True), (1, False), (2, True)])
def test_cost_matches_flop_counter_on_eager_attention(transformers, seed, q_rank):
    """transformers' eager attention computes every score (the causal mask only hides
    some): with ``causal = false`` symparam's MACs are FlopCounterMode's FLOPs / 2,
    the projections and QK^T (over qk_nope_dim + qk_rope_dim) and AV (over v_dim)
    included; norms and the rotation are element operations it does not count."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    sizes = {**random_sizes(random.Random(seed), q_rank), "vocab": 17, "n_layers": 2,
             "d_ff": 9}
    t = 11
    cfg = config(transformers, sizes, first_k_dense_replace=2)
    cfg._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(cfg)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, t, dtype=torch.long))
    src = docs_model().replace("causal = true", "causal = false")
    if not q_rank:
        src = src.replace("q_rank = q_rank", "q_rank = none")
    s = symparam.analyze(src, values={**{k: v for k, v in sizes.items() if v is not None},
                                      "T": t})
    assert 2 * s.value(s.macs) == counter.get_total_flops()


N, R, V, C, Q, h, d, T, w = sympy.symbols("N R V C Q h d T w")


def _mla_macs(options: str = "", values: dict | None = None):
    src = ("convention torch\nmodel m(T = 10, d = 32, h = 4, Q = 12, C = 8, N = 6, R = 4, "
           "V = 5, w = 3):\n    input [T, d]\n"
           f"    mla h, q_rank = Q, kv_rank = C, qk_nope_dim = N, qk_rope_dim = R, "
           f"v_dim = V{options}\n")
    s = symparam.analyze(src, values=values)
    return s, s.value(s.macs)


@pytest.mark.parametrize("options, scores", [
    ("", 10 * 10), (", causal = true", 10 * 10 // 2), (", window = w", 10 * 3),
    # the half-square convention of attention: T m - m^2 / 2 scores, m = min(w, T)
    (", window = w, causal = true", 10 * 3 - sympy.Rational(3 * 3, 2))])
def test_masks_change_the_scores_counted(options, scores):
    # q_a 32x12, q_b 12x(4x10), kv_a 32x(8+4), kv_b 8x(4x11), o (4x5)x32, per step; then
    # QK^T over 4 heads x 10 numbers and AV over 4 heads x 5 numbers per score.
    projections = 10 * (32 * 12 + 12 * 40 + 32 * 12 + 8 * 44 + 20 * 32)
    _, macs = _mla_macs(options)
    assert macs == projections + scores * (40 + 20)


def test_formula():
    src = ("convention torch\nmodel m(T = 10, d = 32, h = 4, Q = 12, C = 8, N = 6, R = 4, "
           "V = 5):\n    input [T, d]\n    mla h, q_lora_rank = Q, kv_lora_rank = C, "
           "qk_nope_head_dim = N, qk_rope_head_dim = R, v_head_dim = V, attention_bias = "
           "true\n")
    s = symparam.analyze(src, symbolic=True)
    names = {sympy.Symbol(x.name): x for x in s.total.free_symbols}
    want = (d * Q + Q + Q + Q * h * (N + R) + d * (C + R) + (C + R) + C
            + C * h * (N + V) + h * V * d + d)
    assert sympy.expand(s.total - want.subs(names)) == 0, s.total


# ---- the KV cache: the latent and the rotary key ------------------------------------
@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(3))
def test_kv_cache_matches_transformers(transformers, seed):
    """transformers' cache keeps, per layer, the normalized latent (kv_rank) and the
    rotary key (qk_rope_dim) of each token, not each head's keys and values."""
    import torch
    rng = random.Random(seed)
    sizes = {**random_sizes(rng), "vocab": 23, "n_layers": rng.randint(1, 3), "d_ff": 5}
    tokens, batch = rng.randint(1, 20), rng.randint(1, 3)
    model = dense_deepseek(transformers, sizes, device="cpu").eval()
    with torch.no_grad():
        cache = model(torch.randint(0, 23, (batch, tokens)), use_cache=True).past_key_values
    numbers = sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)
    s = symparam.analyze(docs_model(), values={**sizes, "T": tokens})
    m = kv_cache_memory(s, batch=batch, dtype="fp32")
    assert s.value(m.total) == 4 * numbers, sizes
    width = sizes["kv_rank"] + sizes["qk_rope_dim"]
    assert numbers == batch * tokens * sizes["n_layers"] * width


def test_kv_cache_width_and_window():
    line = "mla 4, kv_rank = 16, qk_nope_dim = 8, qk_rope_dim = 4, v_dim = 8, causal = true"
    s = one_layer(line, t=100)
    assert s.value(kv_cache_memory(s, batch=1, dtype="fp16").total) == 100 * 20 * 2
    s = one_layer(line + ", window = 10", t=100)
    assert s.value(kv_cache_memory(s, batch=1, dtype="fp16").total) == 9 * 20 * 2


# ---- the zoo's DeepSeek-V3: MLA and mixture-of-experts layers ----------------------
ZOO = Path(__file__).resolve().parent.parent / "zoo"
MOE_FIELDS = {"n_dense": "first_k_dense_replace", "moe_ff": "moe_intermediate_size",
              "n_experts": "n_routed_experts", "top_k": "num_experts_per_tok",
              "n_shared": "n_shared_experts"}
V3 = dict(vocab=129280, d_model=7168, n_layers=61, n_dense=3, n_heads=128, q_rank=1536,
          kv_rank=512, qk_nope_dim=128, qk_rope_dim=64, v_dim=128, d_ff=18432,
          moe_ff=2048, n_experts=256, top_k=8, n_shared=1)


def moe_sizes(seed: int) -> dict:
    rng = random.Random(500 + seed)
    layers = rng.randint(2, 4)
    experts = rng.randint(2, 8)
    return {**random_sizes(rng), "vocab": rng.randint(5, 300), "n_layers": layers,
            "n_dense": rng.randint(1, layers - 1), "d_ff": rng.randint(1, 40),
            "moe_ff": rng.randint(1, 20), "n_experts": experts,
            "top_k": rng.randint(1, experts), "n_shared": rng.randint(1, 2)}


def hf_deepseek_v3(transformers, sizes: dict):
    """DeepseekV3ForCausalLM on the meta device; ``sizes`` the published V3's (the
    config's defaults) or small ones (one expert group, so any number of experts)."""
    import torch
    kw = {MOE_FIELDS[k]: v for k, v in sizes.items() if k in MOE_FIELDS}
    if sizes != V3:
        kw.update(n_group=1, topk_group=1)
    cfg = config(transformers, sizes, **kw)
    with torch.device("meta"):
        return transformers.AutoModelForCausalLM.from_config(cfg)


ZOO_CASES = [("published", V3)] + [(f"random{seed}", moe_sizes(seed)) for seed in range(4)]


@pytest.mark.oracle
@pytest.mark.parametrize("which, sizes", ZOO_CASES, ids=[c[0] for c in ZOO_CASES])
def test_zoo_deepseek_v3_matches_transformers(transformers, which, sizes):
    """zoo/deepseek_v3.symp against DeepseekV3ForCausalLM (without the multi-token
    prediction module, which transformers does not build): total, trainable, buffers
    (the routers' e_score_correction_bias and the rotary embedding's) and the active
    parameters, at V3's published sizes and at small random ones."""
    model = hf_deepseek_v3(transformers, sizes)
    s = symparam.analyze(ZOO / "deepseek_v3.symp", values=sizes)
    assert (s.value(s.total), s.value(s.trainable), s.value(s.buffers)) == hf_counts(model)
    assert s.value(s.active) == hf_active(model, sizes["n_experts"], sizes["top_k"])


def test_zoo_deepseek_v3_states_the_published_counts():
    """671B total and 37B active (the DeepSeek-V3 report), exactly as transformers
    counts them; the file's header says both."""
    s = symparam.analyze(ZOO / "deepseek_v3.symp")
    total, active = s.value(s.total), s.value(s.active)
    assert (total, active) == (671_026_404_352, 37_552_282_624)
    assert (total // 10**9, active // 10**9) == (671, 37)
    text = (ZOO / "deepseek_v3.symp").read_text(encoding="utf-8")
    assert f"{total:,}" in text and f"{active:,}" in text


# ---- one clear message per bad input -----------------------------------------------
def test_keras_has_no_mla():
    src = ("model m(T = 10, d = 16):\n    input [T, d]\n"
           "    mla 2, kv_rank = 4, qk_nope_dim = 2, qk_rope_dim = 2, v_dim = 2\n")
    with pytest.raises(SourceError) as err:
        symparam.analyze(src, convention="keras")
    assert err.value.message == (
        "mla: `mla` is a PyTorch layer; Keras has no multi-head latent attention layer "
        "(DeepSeek's MLA is transformers' DeepseekV3Attention) (use convention torch)")
    assert (err.value.line, err.value.column) == (3, 5)
    assert symparam.analyze(src, convention="torch").value(
        symparam.analyze(src, convention="torch").total) > 0


@pytest.mark.parametrize("line, message", [
    ("mla 2, kv_rank = 4, qk_nope_dim = 2, qk_rope_dim = 3, v_dim = 2",
     "qk_rope_dim = 3 must be even"),
    ("mla 2, kv_rank = 4, qk_nope_dim = 2, qk_rope_dim = 2", "v_dim"),
    ("mla 2, kv_rank = 0, qk_nope_dim = 2, qk_rope_dim = 2, v_dim = 2", "kv_rank"),
    ("mla 2, kv_rank = 4, qk_nope_dim = 2, qk_rope_dim = 2, v_dim = 2, bias = qkv",
     "expected true or false"),
    ("mla 2, q_rank = 1.5, kv_rank = 4, qk_nope_dim = 2, qk_rope_dim = 2, v_dim = 2",
     "q_rank"),
])
def test_bad_arguments(line, message):
    with pytest.raises(SymparamError, match=message):
        one_layer(line)


def test_a_sequence_only():
    src = ("convention torch\nmodel m(H = 4, W = 4, d = 16):\n    input [H, W, d]\n"
           "    mla 2, kv_rank = 4, qk_nope_dim = 2, qk_rope_dim = 2, v_dim = 2\n")
    with pytest.raises(SourceError, match=r"takes a sequence \(steps, hidden_size\)") as err:
        symparam.analyze(src)
    assert err.value.line == 4


def test_the_even_rotary_check_waits_for_values():
    src = ("convention torch\nmodel m(T = 10, d = 16, r = 2):\n    input [T, d]\n"
           "    mla 2, kv_rank = 4, qk_nope_dim = 2, qk_rope_dim = r, v_dim = 2\n")
    symparam.analyze(src, symbolic=True)  # no values: nothing to refuse yet
    assert symparam.analyze(src).value(symparam.analyze(src).total) > 0
    with pytest.raises(SymparamError, match=r"qk_rope_dim = r must be even .*r = 5"):
        symparam.analyze(src, values={"r": 5})


def test_zoo_deepseek_v3_kv_cache_per_token():
    """MLA's cache is (kv_rank + qk_rope_dim) x layers numbers a token, the DeepSeek-V2
    paper's (d_c + d_h^R) l (Table 1): 576 x 61 for V3, 70,272 bytes in BF16 (the
    "70 KB per token" quoted for DeepSeek-V3), where LLaMA-3-8B's grouped-query
    attention keeps 128 KiB."""
    s = symparam.analyze(ZOO / "deepseek_v3.symp")
    cache = kv_cache_memory(s, batch=1, dtype="bf16")
    assert s.value(cache.per_token) == (512 + 64) * 61 * 2 == 70_272


# ---- derivations: a layer standing (a sum of symbols) times -------------------------
@pytest.mark.parametrize("fmt, want", [
    ("text", "P = (L - 1)*(n**2 + n)\n    = (L - 1)*n*(n + 1)\n    = (5 - 1)*4*(4 + 1)"),
    ("latex", r"\bigl(L - 1\bigr) \cdot \bigl(n^{2} + n\bigr)")])
def test_a_repeat_count_that_is_a_sum_is_bracketed(fmt, want):
    """DeepSeek-V3's MoE layers stand n_layers - n_dense times: the derivation must
    write (L - 1) (n^2 + n), not L - 1 (n^2 + n), which reads as another number."""
    from symparam.render.document import derivation
    s = symparam.analyze("model m(n = 4, L = 5):\n    input [n]\n    repeat L - 1:\n"
                         "        dense n\n")
    assert want in derivation(s, fmt)
