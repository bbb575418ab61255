"""Mixtures of experts (issue 10): the `moe` statement, total and active parameters,
and costs on the active path, against Hugging Face transformers.

Ground truth is transformers' own modules: Mixtral-8x7B and Qwen1.5-MoE-A2.7B built
from their config objects on the meta device (total, trainable, buffers), random small
configs of the same, DeepSeek-V3's MoE layer (`DeepseekV3MoE`) and the MoE blocks of
Mixtral and Qwen2-MoE on their own. Active parameters are computed from the torch
modules, not from symparam: every parameter outside the experts, plus k/E of the
experts' (transformers stores the E experts of a layer stacked in one tensor, so each
expert holds 1/E of it). Costs are checked against ``FlopCounterMode`` running the
eager implementation on CPU: with top-k routing every position runs exactly k
experts, so the experts' products are (positions x k) rows whatever the choice.

Without transformers (or torch) the oracle tests skip, saying why; with ``CI`` set
they fail instead.
"""
from __future__ import annotations

import json
import random
import re

import pytest
from click.testing import CliRunner

import symparam
from symparam import SymparamError
from symparam.cli import main
from symparam.resources import resource_dir

ZOO = resource_dir("zoo")


@pytest.fixture(scope="module")
def transformers(hf_transformers):  # conftest: skips (fails in CI) without them
    return hf_transformers


# ---- torch's side: counts computed from the modules ------------------------------
def hf_counts(module) -> tuple[int, int, int]:
    params = list(module.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad),
            sum(b.numel() for b in module.buffers()))


def hf_active(module, experts: int, top_k: int) -> int:
    """Parameters outside the routed experts, plus k/E of the experts' (stacked E to
    a tensor in transformers: `mlp.experts.gate_up_proj` is E x 2I x d)."""
    outside = routed = 0
    for name, p in module.named_parameters():
        if re.search(r"(^|\.)experts\.", name):
            assert p.shape[0] == experts, name
            routed += p.numel()
        else:
            outside += p.numel()
    assert routed % experts == 0
    return outside + routed // experts * top_k


def flop_count(module, *inputs) -> int:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops()


def counts(s) -> tuple[int, int, int]:
    return s.value(s.total), s.value(s.trainable), s.value(s.buffers)


# ---- Mixtral ----------------------------------------------------------------------
MIXTRAL_FIELDS = {"vocab": "vocab_size", "d_model": "hidden_size",
                  "n_layers": "num_hidden_layers", "n_heads": "num_attention_heads",
                  "n_kv_heads": "num_key_value_heads", "d_ff": "intermediate_size",
                  "n_experts": "num_local_experts", "top_k": "num_experts_per_tok"}


# The eager implementations, which FlopCounterMode can follow (transformers' default
# runs the experts with torch._grouped_mm, which needs aligned sizes on CPU).
EAGER = dict(attn_implementation="eager", experts_implementation="eager")


def mixtral(transformers, sizes: dict, device: str = "meta"):
    import torch
    cfg = transformers.MixtralConfig(**{MIXTRAL_FIELDS[k]: v for k, v in sizes.items()},
                                     **EAGER)
    with torch.device(device):
        return transformers.AutoModelForCausalLM.from_config(cfg), cfg


def random_mixtral(seed: int) -> dict:
    rng = random.Random(seed)
    heads = rng.choice([2, 4, 6])
    experts = rng.randint(1, 9)
    return dict(vocab=rng.randint(5, 200), d_model=heads * 2 * rng.randint(1, 4),
                n_layers=rng.randint(1, 3), n_heads=heads,
                n_kv_heads=rng.choice([g for g in range(1, heads + 1) if heads % g == 0]),
                d_ff=rng.randint(1, 40), n_experts=experts, top_k=rng.randint(1, experts))


def test_mixtral_published_counts():
    """The numbers the issue quotes (transformers' num_parameters() of
    Mixtral-8x7B, and Mistral AI's 12.9B active), from the zoo file alone."""
    s = symparam.analyze(ZOO / "mixtral_8x7b.symp")
    assert counts(s) == (46_702_792_704, 46_702_792_704, 128)
    assert s.value(s.active) == 12_879_925_248


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [None, 1, 2, 3, 4])
def test_mixtral_matches_transformers(transformers, seed):
    """MixtralConfig's defaults are Mixtral-8x7B's; then random small configs."""
    sizes = {} if seed is None else random_mixtral(seed)
    model, cfg = mixtral(transformers, sizes)
    s = symparam.analyze(ZOO / "mixtral_8x7b.symp", values=sizes)
    assert counts(s) == hf_counts(model), sizes
    assert s.value(s.active) == hf_active(model, cfg.num_local_experts,
                                          cfg.num_experts_per_tok), sizes
    if seed is None:
        assert hf_counts(model)[0] == 46_702_792_704
        assert hf_active(model, 8, 2) == 12_879_925_248


@pytest.mark.oracle
@pytest.mark.parametrize("seed, t", [(5, 11), (6, 4096)])
def test_mixtral_cost_matches_flop_counter(transformers, seed, t):
    """symparam's MACs x 2 = FlopCounterMode's FLOPs on the eager implementation run
    for real (batch 1), at T = 4096 too: the router (T x d x E), k experts per token
    (3 T k d d_ff), attention (eager computes every score; the zoo's `causal = true`
    halves them, so it is written false here) and the head."""
    import torch
    sizes = random_mixtral(seed)
    model, _ = mixtral(transformers, sizes, device="cpu")
    flops = flop_count(model, torch.zeros(1, t, dtype=torch.long))
    src = (ZOO / "mixtral_8x7b.symp").read_text().replace("causal = true", "causal = false")
    s = symparam.analyze(src, values={**sizes, "T": t})
    assert 2 * s.value(s.macs) == flops, sizes


def test_mixtral_full_size_cost_at_4096():
    """Mixtral-8x7B at T = 4096, by hand: per layer the q/k/v/o projections
    (2 T d² + 2 T d² g/h), QK^T and AV (2 T² d; T² d with `causal = true`, which counts
    half the scores), the router (T d E) and k = 2 SwiGLU experts per token
    (3 T k d d_ff); then the head (T d V). The eager implementation (which
    test_mixtral_cost_matches_flop_counter checks at T = 4096 on a small config)
    computes every score: FlopCounterMode's FLOPs would be 2 x the non-causal MACs."""
    T = d = 4096
    L, d_ff, k, E, V, h, g = 32, 14336, 2, 8, 32000, 32, 8
    experts, router, head = L * 3 * T * k * d * d_ff, L * T * d * E, T * d * V
    projections, scores = L * (2 * T * d * d + 2 * T * d * (d * g // h)), L * 2 * T * T * d
    eager = symparam.analyze((ZOO / "mixtral_8x7b.symp").read_text()
                             .replace("causal = true", "causal = false"))
    assert eager.value(eager.macs) == projections + scores + router + experts + head
    assert 2 * eager.value(eager.macs) == 113_232_517_791_744
    s = symparam.analyze(ZOO / "mixtral_8x7b.symp")
    assert s.value(s.macs) == projections + scores // 2 + router + experts + head
    assert s.value(s.macs) == 54_417_235_640_320
    routed = sum(s.value(layer.macs) for layer in s.layers
                 if any(p.startswith("experts") for p in layer.path) and layer.macs is not None)
    assert routed == experts


# ---- Qwen2-MoE: a shared expert with a sigmoid gate -------------------------------
QWEN_FIELDS = {"vocab": "vocab_size", "d_model": "hidden_size",
               "n_layers": "num_hidden_layers", "n_heads": "num_attention_heads",
               "n_kv_heads": "num_key_value_heads", "n_experts": "num_experts",
               "top_k": "num_experts_per_tok", "d_expert": "moe_intermediate_size",
               "d_shared": "shared_expert_intermediate_size"}


def random_qwen(seed: int) -> dict:
    rng = random.Random(seed)
    heads = rng.choice([2, 4])
    experts = rng.randint(1, 8)
    return dict(vocab=rng.randint(5, 200), d_model=heads * 2 * rng.randint(1, 4),
                n_layers=rng.randint(1, 3), n_heads=heads,
                n_kv_heads=rng.choice([g for g in range(1, heads + 1) if heads % g == 0]),
                n_experts=experts, top_k=rng.randint(1, experts),
                d_expert=rng.randint(1, 30), d_shared=rng.randint(1, 40))


def test_qwen1_5_moe_published_counts():
    """Qwen1.5-MoE-A2.7B: "14.3B parameters, 2.7B activated" (its model card);
    transformers' exact count."""
    s = symparam.analyze(ZOO / "qwen1_5_moe_a2_7b.symp")
    assert counts(s) == (14_315_784_192, 14_315_784_192, 128)
    assert round(s.value(s.total) / 1e9, 1) == 14.3
    assert round(s.value(s.active) / 1e9, 1) == 2.7


@pytest.mark.oracle
@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_qwen2_moe_matches_transformers(transformers, seed):
    import torch
    sizes = {} if seed is None else random_qwen(seed)
    cfg = transformers.Qwen2MoeConfig(**{QWEN_FIELDS[k]: v for k, v in sizes.items()})
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(cfg)
    s = symparam.analyze(ZOO / "qwen1_5_moe_a2_7b.symp", values=sizes)
    assert counts(s) == hf_counts(model), sizes
    assert s.value(s.active) == hf_active(model, cfg.num_experts, cfg.num_experts_per_tok)


# ---- the construct alone, against transformers' MoE blocks ------------------------
SWIGLU = """\
        dense {width}, bias = false, activation = silu as {p}gate_proj
        from x
        dense {width}, bias = false as {p}up_proj
        multiply {p}gate_proj
        dense d, bias = false as {p}down_proj
"""


def moe_layer(options: str, shared: str = "", t: int = 3, width: str = "I") -> str:
    """One mixture of experts on [T, d], its expert a SwiGLU MLP of width I."""
    src = (f"convention torch\nmodel m(T = {t}, d = 8, E = 4, k = 2, I = 5, S = 6, s = 1):\n"
           f"    input [T, d] as x\n    moe E, top_k = k{options}:\n"
           + SWIGLU.format(width=width, p=""))
    if shared:
        src += "    shared:\n" + SWIGLU.format(width=shared, p="shared_")
    return src


def block_cases(rng: random.Random) -> dict:
    experts = rng.randint(1, 10)
    return dict(d=rng.randint(1, 24), E=experts, k=rng.randint(1, experts),
                I=rng.randint(1, 20), S=rng.randint(1, 20), s=rng.randint(1, 3),
                T=rng.randint(1, 9))


def check_block(module, src: str, values: dict, experts: int, top_k: int) -> None:
    import torch
    s = symparam.analyze(src, values=values)
    assert counts(s) == hf_counts(module), values
    assert s.value(s.active) == hf_active(module, experts, top_k), values
    x = torch.randn(1, values["T"], values["d"])
    assert 2 * s.value(s.macs) == flop_count(module, x), values


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(6))
def test_mixtral_block_random(transformers, seed):
    from transformers.models.mixtral.modeling_mixtral import MixtralSparseMoeBlock
    v = block_cases(random.Random(seed))
    cfg = transformers.MixtralConfig(hidden_size=v["d"], intermediate_size=v["I"],
                                     num_local_experts=v["E"], num_experts_per_tok=v["k"],
                                     **EAGER)
    module = MixtralSparseMoeBlock(cfg)
    check_block(module, moe_layer(""), v, v["E"], v["k"])


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(6))
def test_qwen2_moe_block_random(transformers, seed):
    from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeSparseMoeBlock
    v = block_cases(random.Random(100 + seed))
    cfg = transformers.Qwen2MoeConfig(hidden_size=v["d"], moe_intermediate_size=v["I"],
                                      shared_expert_intermediate_size=v["S"],
                                      num_experts=v["E"], num_experts_per_tok=v["k"],
                                      **EAGER)
    module = Qwen2MoeSparseMoeBlock(cfg)
    check_block(module, moe_layer(", shared_gate = true", shared="S"), v, v["E"], v["k"])


@pytest.mark.oracle
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("form", ["merged", "copies"])
def test_deepseek_v3_moe_layer(transformers, seed, form):
    """DeepseekV3MoE: a sigmoid router with the e_score_correction_bias buffer, and
    its n_shared_experts as ONE MLP of width moe_intermediate_size x n_shared_experts
    (`shared:` body of width I * s); `shared = s` without a body (s copies of the
    expert) counts and costs the same, as the MLP has no biases."""
    from transformers.models.deepseek_v3.modeling_deepseek_v3 import DeepseekV3MoE
    v = block_cases(random.Random(200 + seed))
    groups = random.Random(seed).choice([g for g in range(1, v["E"] + 1) if v["E"] % g == 0])
    # The router keeps the best groups' experts; each group needs 2 (it sums its top 2).
    while v["E"] // groups < 2 and groups > 1:
        groups = next(g for g in range(groups - 1, 0, -1) if v["E"] % g == 0)
    cfg = transformers.DeepseekV3Config(hidden_size=v["d"], moe_intermediate_size=v["I"],
                                        n_routed_experts=v["E"], num_experts_per_tok=v["k"],
                                        n_shared_experts=v["s"], n_group=groups,
                                        topk_group=groups, **EAGER)
    module = DeepseekV3MoE(cfg)
    options = ", scoring = sigmoid, score_bias = true"
    if form == "merged":
        src = moe_layer(options + ", shared = 1", shared="I * s")
    else:
        src = moe_layer(options + ", shared = s")
    s = symparam.analyze(src, values=v)
    assert counts(s) == hf_counts(module), v
    assert s.value(s.active) == hf_active(module, v["E"], v["k"])
    if v["E"] // groups >= 2:  # DeepSeek's group choice needs two experts a group
        import torch
        x = torch.randn(1, v["T"], v["d"])
        assert 2 * s.value(s.macs) == flop_count(module, x), v
    router = next(layer for layer in s.layers if layer.kind == "router")
    assert {w.name: w.role for w in router.weights} == {
        "weight": "trainable", "e_score_correction_bias": "buffer"}


# ---- the language: symbols, checks, commands ----------------------------------------
def test_active_is_k_of_e_experts_symbolically():
    s = symparam.analyze(moe_layer(""), symbolic=True)
    E, k, d, I = (next(x for x in s.symbols if x.name == n) for n in "EkdI")  # noqa: E741
    assert s.total.expand() == (E * d + 3 * E * I * d).expand()
    assert s.active.expand() == (E * d + 3 * k * I * d).expand()


def test_a_model_without_experts_has_active_equal_to_total():
    s = symparam.analyze("model m(n = 4, h = 2):\n    input [n]\n    repeat 3:\n"
                         "        dense n\n    dense h\n")
    assert s.active == s.total and not s.routed
    assert all(layer.active == layer.params for layer in s.layers)
    text = CliRunner().invoke(main, ["summary", "-"], input=moe_layer("")).output
    assert "Active params: 272" in text
    plain = CliRunner().invoke(main, ["summary", "--example", "seed000"]).output
    assert "Active" not in plain


@pytest.mark.parametrize("body, values, message", [
    (moe_layer("").replace("top_k = k", "top_k = 5").replace("moe E", "moe 4"), {},
     r"line 4, column 5: moe: top_k = 5 is more than the 4 experts"),
    (moe_layer(""), {"k": 9},
     r"line 4, column 5: moe: top_k = k is more than the E experts.*k = 9"),
    (moe_layer("").replace("dense d, bias", "dense 2 * d, bias"), {},
     r"line 4, column 5: moe: the experts' body must keep the shape \(None, T, d\), but "
     r"gives \(None, T, 2\*d\)"),
    (moe_layer("").replace("dense d, bias", "dense 8, bias"), {"d": 7},
     r"moe: the experts' body must keep the shape .*: d vs 8 \(with d = 7"),
    (moe_layer("").replace(", top_k = k", ""), {},
     r"line 4, column 5: moe needs its argument 'top_k'"),
    (moe_layer(", shared_gate = true"), {},
     r"line 4, column 5: moe: shared_gate gates the shared experts: give them a `shared:` "
     r"body"),
    (moe_layer(", bogus = 1"), {}, r"line 4, column 23: unknown argument 'bogus' for moe"),
    (moe_layer("").replace("moe E", "moe 0"), {},
     r"line 4, column 9: moe: the number of experts: expected a positive whole number"),
    (moe_layer("", shared="S").replace("dense d, bias = false as shared_down_proj",
                                        "dense S, bias = false as shared_down_proj"),
     {"S": 5}, r"moe: the shared experts' body must keep the shape.*d vs S"),
    ("model m(d = 4):\n    moe 2, top_k = 1:\n        dense d\n", {},
     r"line 2, column 5: moe has no input"),
    ("model m(d = 4):\n    input [d]\n    moe 2, top_k = 1:\n        input [d]\n", {},
     r"line 4, column 9: input can only be declared in a model's body"),
    ("model m(d = 4):\n    input [d]\n    dense 2 as moe\n", {},
     r"line 3, column 16: 'moe' is a keyword"),
])
def test_bad_moe_is_one_message_at_its_line(body, values, message):
    with pytest.raises(SymparamError, match=message):
        symparam.analyze(body, values=values)


def test_cli_reports_a_bad_moe_with_exit_2():
    result = CliRunner().invoke(main, ["count", "-", "--set", "k=9"], input=moe_layer(""))
    assert result.exit_code == 2
    assert "top_k = k is more than the E experts" in result.output
    assert "Traceback" not in result.output


def _json(*args: str, input: str | None = None) -> dict:
    result = CliRunner().invoke(main, [*args, "--json"], input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_sweep_solve_and_leading_know_active():
    src = moe_layer("")
    doc = _json("count", "-", input=src)
    assert doc["active"] == {"formula": "E*d + 3*I*d*k", "value": 4 * 8 + 3 * 2 * 5 * 8}
    assert doc["total"]["value"] == 4 * 8 + 3 * 4 * 5 * 8
    (gate,) = [layer for layer in doc["layers"] if layer["name"] == "gate_proj"]
    assert gate["multiplier"] == {"formula": "E", "value": 4}
    assert gate["runs"] == {"formula": "k", "value": 2}
    assert gate["active"] == {"formula": "I*d*k", "value": 80}
    rows = _json("sweep", "-", "-g", "E=4,64", "--metric", "params,active", input=src)["rows"]
    assert [(r["params"], r["active"]) for r in rows] == [(512, 272), (8192, 752)]
    solved = _json("solve", "-", "--for", "I", "--target", "active=2432", input=src)
    assert [c["value"] for c in solved["candidates"] if c["difference"] == 0] == [50]
    lead = _json("leading", "-", "--in", "d,I", "--metric", "active", input=src)
    assert lead["leading"]["formula"] == "3*I*d*k"


def test_cost_counts_the_active_path():
    s = symparam.analyze(moe_layer(""))
    # Router T*d*E, then k experts per position, each 3*d*I per position.
    assert s.value(s.macs) == 3 * 8 * 4 + 3 * 2 * 3 * 8 * 5
    text = CliRunner().invoke(main, ["cost", "-"], input=moe_layer("")).output
    assert "gate_proj (×k)" in text


def test_pickles_with_its_active_counts():
    import pickle
    s = symparam.analyze(ZOO / "mixtral_8x7b.symp")
    again = pickle.loads(pickle.dumps(s))
    assert again.value(again.active) == 12_879_925_248


@pytest.mark.oracle
def test_language_md_deepseek_example_matches_transformers(transformers):
    """docs/language.md's DeepSeek-V3 MoE layer against DeepseekV3MoE at its sizes."""
    from pathlib import Path
    from transformers.models.deepseek_v3.modeling_deepseek_v3 import DeepseekV3MoE
    text = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text()
    (src,) = [b for b in re.findall(r"```symparam\n(.*?)```", text, re.S)
              if "model deepseek_v3_moe(" in b]
    cfg = transformers.DeepseekV3Config(hidden_size=64, moe_intermediate_size=32,
                                        n_routed_experts=16, num_experts_per_tok=4,
                                        n_shared_experts=2, **EAGER)
    module = DeepseekV3MoE(cfg)
    s = symparam.analyze(src)
    assert counts(s) == hf_counts(module) == (111_616, 111_616, 16)
    assert s.value(s.active) == hf_active(module, 16, 4)
    assert "It has 111,616 parameters" in text


@pytest.mark.parametrize("body, total, active", [
    # In a repeat over L: L x (router d E + E experts + 2 shared copies of the expert).
    ("    repeat L:\n        moe E, top_k = k, shared = 2:\n            dense d\n",
     3 * (16 * 8 + 8 * 272 + 2 * 272), 3 * (16 * 8 + 2 * 272 + 2 * 272)),
    # A mixture inside an expert: its 4 experts stand 4 E times and run k x 1 times.
    ("    moe E, top_k = k:\n        moe 4, top_k = 1:\n            dense d\n",
     16 * 8 + 8 * (16 * 4 + 4 * 272), 16 * 8 + 2 * (16 * 4 + 1 * 272)),
    # Unrolled (the body uses the index): each copy its own router and experts.
    ("    repeat 2 as i:\n        moe E, top_k = k:\n            dense d + i\n            dense d\n",
     # copy 0: dense 16, dense 16 (272 + 272); copy 1: dense 17, dense 16 (289 + 288)
     2 * 128 + 8 * (272 + 272) + 8 * (289 + 288), 2 * 128 + 2 * (272 + 272) + 2 * (289 + 288)),
])
def test_moe_composes_with_repeats_and_itself(body, total, active):
    src = "convention torch\nmodel m(T = 5, d = 16, E = 8, k = 2, L = 3):\n    input [T, d]\n"
    s = symparam.analyze(src + body)
    assert (s.value(s.total), s.value(s.active)) == (total, active)
