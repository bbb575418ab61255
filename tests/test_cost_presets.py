"""Named counting conventions (``symparam cost --preset``), each against the figure of
the tool or paper it names: PyTorch's FlopCounterMode on transformers' eager attention
(the zoo's files unchanged, causal masks and sliding windows included), Kaplan et al.
2020's C_forward = 2N + 2 n_layer n_ctx d_attn, and PaLM's (Chowdhery et al. 2022,
Appendix B) 6N + 12 L H Q T training FLOPs per token."""
from __future__ import annotations

import random

import pytest
import sympy
from click.testing import CliRunner

import symparam
from symparam.analysis.costs import cost_report
from symparam.cli import main
from symparam.costs import PRESETS
from symparam.render.fmt import formula
from symparam.resources import resource_dir
from test_llm_attention import FAMILIES, ZOO, hf_model, random_sizes

KAPLAN = resource_dir("examples") / "kaplan.symp"


def _symbols(s):
    return {x.name: x for x in s.total.free_symbols | {x for x in s.symbols}}


def test_kaplan_preset_is_table_1():
    s = symparam.analyze(KAPLAN, symbolic=True)
    x = _symbols(s)
    n = 2 * x["d_model"] * x["n_layer"] * (2 * x["d_attn"] + x["d_ff"])  # Table 1's N
    r = cost_report(s, PRESETS["kaplan"].convention, per="n_ctx")
    assert sympy.expand(r.flops - (2 * n + 2 * x["n_layer"] * x["n_ctx"] * x["d_attn"])) == 0
    assert r.left_out == ("deembed",)


def test_palm_preset_is_6n_plus_12_lhqt():
    s = symparam.analyze(KAPLAN, symbolic=True)
    x = _symbols(s)
    # N: every weight a token's forward pass multiplies by, the tied output head included
    # (nanoGPT's get_num_params: the position table left out, the token table kept).
    n = 2 * x["d_model"] * x["n_layer"] * (2 * x["d_attn"] + x["d_ff"]) \
        + x["n_vocab"] * x["d_model"]
    hq = x["d_attn"]  # H heads of Q = d_attn / H numbers
    r = cost_report(s, PRESETS["palm"].convention, per="n_ctx")
    assert sympy.expand(r.flops - (6 * n + 12 * x["n_layer"] * hq * x["n_ctx"])) == 0


@pytest.mark.oracle
@pytest.mark.parametrize("name", ["llama3_8b", "mistral_7b", "qwen2_7b"])
def test_flopcounter_preset_matches_flop_counter_mode(hf_transformers, name):
    """The zoo's file as it is (causal = true, Mistral's window): the preset counts the
    scores the mask hides, as FlopCounterMode sees eager attention compute them."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    file, config_class, _ = FAMILIES[name]
    sizes = random_sizes(random.Random(11), name)
    t = 12
    if name == "mistral_7b":
        sizes["window"] = 5  # shorter than the sequence: the window hides scores too
    model = hf_model(hf_transformers, config_class, sizes, device="cpu")
    model.config._attn_implementation = "eager"
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, t, dtype=torch.long))
    s = symparam.analyze(ZOO / f"{file}.symp", model=name, values={**sizes, "T": t})
    r = cost_report(s, PRESETS["flopcounter"].convention)
    assert r.value(r.flops) == counter.get_total_flops()
    assert s.value(s.flops()) < counter.get_total_flops()  # the default halves the scores


def test_cli_preset_and_explicit_options():
    run = CliRunner().invoke
    out = run(main, ["cost", "--example", "kaplan", "--preset", "palm"]).output
    assert "masked attention scores counted in full" in out
    assert "forward + backward = 3 x forward" in out
    # An option written on the command line changes the preset.
    out = run(main, ["cost", "--example", "kaplan", "--preset", "palm", "--backward-factor",
                     "4", "--json"]).output
    assert '"backward_factor": 4' in out and '"masks": false' in out
    bad = run(main, ["cost", "--example", "kaplan", "--preset", "kaplann"])
    assert bad.exit_code == 2 and "kaplan" in bad.output


def test_against_prints_the_terms_that_differ():
    out = CliRunner().invoke(main, ["cost", "--example", "kaplan", "--preset", "kaplan",
                                    "--against", "palm", "--per", "n_ctx", "--symbolic"])
    assert out.exit_code == 0, out.output
    rows = {line.split()[0]: line for line in out.output.splitlines()
            if line.startswith((" attn", " ff_in", " deembed", " add"))}
    assert set(rows) == {"attn", "ff_in", "deembed"}  # ff_out: the same as ff_in's line
    assert "left out" in rows["deembed"] and "6*d_model*n_vocab" in rows["deembed"]
    # palm - kaplan = 3 x forward with the full scores and the head, minus Kaplan's.
    s = symparam.analyze(KAPLAN, symbolic=True)
    diff = (cost_report(s, PRESETS["palm"].convention, per="n_ctx").flops
            - cost_report(s, PRESETS["kaplan"].convention, per="n_ctx").flops)
    last = out.output.strip().splitlines()[-1].strip()
    x = _symbols(s)
    assert sympy.expand(diff - (16 * x["d_attn"] * x["d_model"] * x["n_layer"]
                                + 10 * x["d_attn"] * x["n_ctx"] * x["n_layer"]
                                + 8 * x["d_ff"] * x["d_model"] * x["n_layer"]
                                + 6 * x["d_model"] * x["n_vocab"])) == 0
    assert last == f"palm - kaplan: {formula(sympy.expand(diff))}"
