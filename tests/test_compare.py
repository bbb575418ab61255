"""One comparison (symparam.compare) serving diff, derivations and cards: layers paired
by structure (added, removed, changed), differences in readable form, and a derivation
that says why a comparison is missing instead of dropping it.

Numbers come from outside: the PyTorch and Keras layers themselves (BatchNorm, LSTM),
the published counts of LLaMA-2-7B and Mistral-7B (transformers' LlamaForCausalLM and
MistralForCausalLM), and arithmetic a reader can redo (h(n + 1) for a dense layer).
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from symparam import analyze
from symparam.analysis.diff import diff
from symparam.analysis.diff_output import readable
from symparam.cli import main
from symparam.compare import (analyze_other, counterparts, difference, pair_layers,
                              pair_weights)
from symparam.render.document import derivation
from symparam.values import symbol

ROOT = Path(__file__).resolve().parents[1]
h, n, k, L, d = (symbol(s) for s in "h n k L d".split())

MLP = """model mlp(n = 4096, h = 512, k = 80):
    input [n]
    dense h, activation = relu
{extra}    batchnorm
    dense k
"""
BASE = MLP.format(extra="")
INSERTED = MLP.format(extra="    dense h\n")


def _statuses(pairs):
    return [(p.status, p.a and p.a.name, p.b and p.b.name) for p in pairs
            if (p.a or p.b).kind != "input"]


# ---- pairing by structure -------------------------------------------------------------

def test_inserted_layer_is_added_and_the_rest_still_pair():
    """The old kind-only alignment paired B's new dense_1 (h(h+1)) with A's dense_1
    (k(h+1)) and called the last layer new; by structure, only dense_1 is added."""
    a, b = analyze(BASE), analyze(INSERTED)
    d_ = diff(a, b)
    assert [(ld.status, ld.name) for ld in d_.layers] == [
        ("same", "dense"), ("added", "dense_1"),
        ("same", "batch_normalization"), ("same", "dense_1 / dense_2")]
    added = d_.added[0]
    assert added.a is None and added.b.line == 4
    assert added.delta["params"] == -h * (h + 1)      # A − B: the layer B adds
    assert added.values["params"] == -512 * 513
    assert d_.values["params"] == -262_656


def test_removed_layer():
    d_ = diff(analyze(INSERTED), analyze(BASE))
    assert [ld.name for ld in d_.removed] == ["dense_1"]
    assert d_.removed[0].b is None
    assert d_.values["params"] == 512 * 513
    assert sum(ld.status == "same" for ld in d_.layers) == 3


def test_changed_layer_says_what_changed():
    wider = BASE.replace("dense h, activation = relu", "dense 2 * h, activation = relu")
    d_ = diff(analyze(BASE), analyze(wider))
    changed = [ld for ld in d_.layers if ld.changed]
    # The dense layer is wider; the batchnorm and the last dense see a wider input.
    assert [ld.name for ld in changed] == ["dense", "batch_normalization", "dense_1"]
    first = changed[0]
    assert first.status == "changed"
    assert {"params", "output shape", "argument units"} <= set(first.changes)
    assert "type" not in first.changes
    assert first.delta["params"] == -h * (n + 1)
    assert first.values["params"] == -2_097_664       # 512 x 4097 fewer in A
    assert changed[1].changes == ("params", "trainable", "non_trainable", "output shape")
    assert not d_.added and not d_.removed


def test_block_added_inside_a_repeat():
    src = """block ffn(d):
    dense 4 * d, activation = gelu
    dense d

model enc(T = 16, d = 64, L = 6):
    input [T, d]
    repeat L:
        layernorm
        dense d
{extra}    dense 10
"""
    a = analyze(src.format(extra=""))
    b = analyze(src.format(extra="        ffn d\n"))
    d_ = diff(a, b)
    added = d_.added
    assert [ld.kind for ld in added] == ["dense", "dense"]
    assert all(ld.b.multiplier == L and ld.b.path[0] == "repeat L" for ld in added)
    # 4d(d + 1) + d(4d + 1) per repeat, L repeats: the block's count, added in B.
    assert sympy.expand(sum(ld.delta["params"] for ld in added)) == sympy.expand(
        -L * (4 * d * (d + 1) + d * (4 * d + 1)))
    assert d_.values["params"] == -6 * (4 * 64 * 65 + 64 * 257)
    # The layers around the block still pair with theirs, unchanged.
    assert [ld.status for ld in d_.layers if ld.a is not None] == ["same"] * 3


def test_llama2_against_mistral():
    a = analyze((ROOT / "benchmarks/models/llama2_7b.symp").read_text())
    b = analyze((ROOT / "benchmarks/models/mistral_7b.symp").read_text())
    assert (a.value(a.total), b.value(b.total)) == (6_738_415_616, 7_241_732_096)
    d_ = diff(a, b)
    assert d_.values["params"] == -503_316_480
    assert not d_.added and not d_.removed            # the same architecture
    changed = {ld.name: ld for ld in d_.layers if ld.changed}
    # The key and value projections: 2 x L d (d kv / heads) each side, 2 x 402,653,184.
    assert changed["layers/self_attn"].values["params"] == 805_306_368
    assert {"argument kv_heads", "argument window"} <= set(changed["layers/self_attn"].changes)
    # The readable total is the sum of the layers' differences, not a tangle.
    assert readable(d_.differences["params"]) == (
        "2*L*d**2*(kv_heads_A - kv_heads_B)/heads + 3*L*d(ff_A - ff_B)")


def test_names_are_not_the_key():
    """Two models whose layers are named alike but stand in another order."""
    a = analyze("model m(n):\n    input [n]\n    dense 3 as x\n    dense 5 as y\n")
    b = analyze("model m(n):\n    input [n]\n    dense 3 as y\n    dense 5 as x\n")
    pairs = pair_layers(a.model_layers, b.model_layers)
    assert _statuses(pairs) == [("same", "x", "y"), ("same", "y", "x")]


# ---- one model, two conventions (counts from the frameworks) ---------------------------

CONV = """model m(T = 10, C = 6, F = 8, u = 5):
    input [T, C]
    conv1d F, 3{padding}
    batchnorm
    lstm u
"""


def _torch_counts(module):
    return (sum(p.numel() for p in module.parameters()),
            sum(b.numel() for b in module.buffers()))


@pytest.mark.oracle
def test_one_model_under_both_conventions_matches_the_frameworks(frameworks):
    torch, keras = frameworks["torch"], frameworks["keras"]
    src = CONV.format(padding="")
    a, b = analyze(src, convention="keras"), analyze(src, convention="torch")
    d_ = diff(a, b)
    by_kind = {ld.kind: ld for ld in d_.layers}
    assert [ld.status for ld in d_.layers] == ["same", "changed", "changed"]

    bn_t = _torch_counts(torch.nn.BatchNorm1d(8))
    bn_k = keras.layers.BatchNormalization()
    bn_k.build((None, 10, 8))
    bn = by_kind["batchnorm"]
    assert bn.values["params"] == bn_k.count_params() - bn_t[0]        # 32 - 16
    assert bn.values["buffers"] == -bn_t[1]                              # 8 + 8 + 1
    assert bn.values["non_trainable"] == sum(
        int(w.numpy().size) for w in bn_k.non_trainable_weights)

    lstm_t = _torch_counts(torch.nn.LSTM(8, 5))
    lstm_k = keras.layers.LSTM(5)
    lstm_k.build((None, 8, 8))
    assert by_kind["lstm"].values["params"] == lstm_k.count_params() - lstm_t[0]
    assert by_kind["lstm"].delta["params"] == -4 * symbol("u")          # bias_hh


def test_derivation_pairs_layers_with_the_other_convention():
    stats = analyze(CONV.format(padding=""))
    other = analyze_other(stats)
    assert other.missing is None and other.stats.convention == "torch"
    twins = counterparts(stats, other)
    assert [t.layer.type for t in twins] == ["InputLayer", "Conv1d", "BatchNorm1d", "LSTM"]


# ---- a derivation with a framework-only option -----------------------------------------

def test_causal_padding_states_the_missing_comparison_and_keeps_batchnorm_note():
    stats = analyze(CONV.format(padding=", padding = causal"))
    other = analyze_other(stats)
    assert other.stats is None and other.missing.line == 3
    assert "causal" in other.missing.message
    md = derivation(stats, "markdown")
    conv, bn, lstm = md.split("\n## ")[1:4]
    assert conv.startswith("`conv1d`")
    assert ("No PyTorch comparison: line 3: conv1d: \\`padding = causal\\` is a Keras option; "
            "PyTorch's Conv1d has no causal padding") in conv
    # Every other layer is still compared, alone, on the same input.
    assert "No PyTorch comparison" not in bn
    assert "In PyTorch (`BatchNorm1d`) this layer has" in bn
    assert "so PyTorch keeps them as buffers, not parameters" in bn
    assert "In PyTorch (`LSTM`) this layer has $`4 u`$ more parameters" in lstm
    # And the model says once why.
    assert "PyTorch cannot analyze the whole model" in md


def test_the_other_way_round_a_pytorch_only_option():
    src = """convention torch

model m(C = 4):
    input [C]
    batchnorm track_running_stats = false
    dense 3
"""
    text = derivation(analyze(src), "text")
    assert ("No Keras comparison: line 5: batchnorm: `track_running_stats = false` is a "
            "PyTorch option; Keras's BatchNormalization always keeps running statistics") in text


# ---- readable differences ---------------------------------------------------------------

def test_the_sign_is_pulled_out():
    dd = difference(-h * n - h, {h: 512, n: 4096})
    assert dd.structured == -h * (n + 1) and dd.magnitude == h * (n + 1)
    assert dd.sign == -1 and dd.value == -2_097_664
    assert str(dd.structured) == "-h*(n + 1)"
    assert readable(dd) == "-h(n + 1)"
    assert readable(difference(h * n + h)) == "h(n + 1)"
    assert readable(difference(-2 * h - 1)) == "-2*h - 1"     # a sum keeps its signs
    assert readable(difference(sympy.Integer(-64))) == "-64"


def test_diff_formats_show_the_readable_form():
    args = ["diff", "--example", "seed000", str(ROOT / "docs/diff/mlp_deeper.symp")]
    run = CliRunner()
    text = run.invoke(main, args).output
    assert "dense_1   dense   added (B only)" in text and "-h(h + 1) = -262,656" in text
    md = run.invoke(main, [*args, "-f", "markdown"]).output
    assert "| `dense_1` | dense | added (B only) |" in md
    assert r"$`-h \left(h + 1\right) = -262{,}656`$" in md
    tex = run.invoke(main, [*args, "-f", "latex"]).output
    assert r"-h \left(h + 1\right) = -262{,}656" in tex and r"\begin{tabular}" in tex
    data = json.loads(run.invoke(main, [*args, "-f", "json"]).output)
    layer, = data["layers"]
    assert layer["status"] == "added" and layer["a"] is None
    assert layer["b"] == {"name": "dense_1", "kind": "dense", "type": "Dense", "line": 6,
                          "path": [], "multiplier": "1", "params": "h*(h + 1)"}
    assert data["total"]["params"] == {"readable": "-h(h + 1)", "structured": "-h*(h + 1)",
                                       "expanded": "-h**2 - h", "value": -262_656}


# ---- the pieces ------------------------------------------------------------------------

def test_weights_pair_by_size_in_order():
    keras = analyze("model m(n, u):\n    input [5, n]\n    lstm u\n").layers[-1].weights
    torch = analyze("model m(n, u):\n    input [5, n]\n    lstm u\n",
                    convention="torch").layers[-1].weights
    pairs, only_k, only_t = pair_weights(keras, torch)
    assert [(x.name, y.name) for x, y in pairs] == [
        ("kernel", "weight_ih_l0"), ("recurrent_kernel", "weight_hh_l0"),
        ("bias", "bias_ih_l0")]
    assert only_k == [] and [w.name for w in only_t] == ["bias_hh_l0"]


def test_comparison_results_are_data():
    d_ = diff(analyze(BASE), analyze(INSERTED))
    pairs = pair_layers(d_.a.model_layers, d_.b.model_layers)
    again = pickle.loads(pickle.dumps([(p.status, p.changes, p.delta) for p in pairs]))
    assert again == [(p.status, p.changes, p.delta) for p in pairs]


def test_a_tied_layer_says_its_comparison_needs_the_whole_model():
    src = """model m(T = 8, V = 100, d = 16):
    input [T]
    embedding V, d as emb
    conv1d d, 3, padding = causal
    dense V, tie = emb
"""
    stats = analyze(src)
    twins = counterparts(stats, analyze_other(stats))
    assert [t.missing and t.missing.line for t in twins] == [None, None, 4, 5]
    assert twins[1].layer.type == "Embedding"            # compared alone: same count
    assert "shares weights with another layer" in twins[3].missing.text
    assert "line 5: dense shares weights" in derivation(stats, "text")


@pytest.mark.skipif(__import__("shutil").which("pdflatex") is None
                    and not __import__("os").environ.get("CI"), reason="pdflatex not installed")
def test_diff_latex_compiles(tmp_path):
    import subprocess
    out = CliRunner().invoke(main, ["diff", str(ROOT / "benchmarks/models/llama2_7b.symp"),
                                    str(ROOT / "benchmarks/models/mistral_7b.symp"),
                                    "-f", "latex"]).output
    (tmp_path / "d.tex").write_text(
        "\\documentclass{article}\n\\usepackage{amsmath}\n"
        "\\usepackage[landscape,margin=5mm]{geometry}\n\\begin{document}\n\\tiny\n"
        + out + "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Missing character" not in (tmp_path / "d.log").read_text(errors="replace")
