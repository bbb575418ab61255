"""symparam.render: formatting helpers, the JSON data, the text tables and the
derivation templates, tested on their own (the CLI tests run them end to end)."""
from __future__ import annotations

import json

import pytest
import sympy

from symparam import UsageError, analyze
from symparam.render import count_text, derivation, model_dict, read_formula, summary_text
from symparam.render import fmt
from symparam.render.document import symbol_names
from symparam.resources import resource_dir
from symparam.values import symbol

MLP = """model mlp(n = 4096, h = 512, k = 80):
    input [n]
    dense h, activation = relu
    batchnorm
    dropout 0.5
    dense k, activation = sigmoid
"""


# ---- fmt -----------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [(0, "0"), (999, "999"), (1000, "1,000"),
                                         (2140752, "2,140,752"), (-1234, "-1,234")])
def test_number(value, text):
    assert fmt.number(value) == text


def test_quantity_number_or_formula():
    n = symbol("n")
    assert fmt.quantity(sympy.Integer(37633)) == "37,633"
    assert fmt.quantity(512 * (n + 1)) == "512*n + 512"
    assert fmt.as_int(sympy.floor(sympy.Rational(7, 2))) == 3


def test_shape_has_the_batch_as_none():
    H = symbol("H")
    assert fmt.shape(()) == "(None)"
    assert fmt.shape((sympy.floor(H / 2), 32)) == "(None, floor(H/2), 32)"


@pytest.mark.parametrize("prose, tex", [
    ("conv_1", r"conv\_1"),
    ("a & b % c $ d # e", r"a \& b \% c \$ d \# e"),
    ("{x}", r"\{x\}"),
    ("~^\\", r"\textasciitilde{}\textasciicircum{}\textbackslash{}"),
])
def test_tex_escape(prose, tex):
    assert fmt.tex_escape(prose) == tex


def test_md_code_survives_backticks():
    assert fmt.md_code("a`b") == "``a`b``"
    assert fmt.md_code("`a") == "`` `a ``"


def test_times_brackets_sums_only():
    L, C = symbol("L"), symbol("C")
    assert fmt.times(4 * C, L) == "4*C × L"
    assert fmt.times(C + 1, 2 * L) == "(C + 1) × 2*L"


def test_symbol_names_for_latex():
    names = symbol_names([symbol(s) for s in ("classes", "h1", "alpha", "rows2", "d_model",
                                              "x_1")])
    assert names == {symbol("classes"): r"\mathit{classes}",
                     symbol("rows2"): r"\mathit{rows}_{2}",
                     symbol("d_model"): r"d_{\mathrm{model}}"}


# ---- data ----------------------------------------------------------------------------

def test_model_dict_is_json_and_matches_the_seed():
    d = model_dict(analyze(MLP))
    assert json.loads(json.dumps(d)) == d
    assert [d[k]["value"] for k in ("total", "trainable", "non_trainable", "buffers")] == \
        [2140752, 2139728, 1024, 0]
    assert [layer["params"]["value"] for layer in d["layers"]] == [0, 2097664, 2048, 0, 41040]
    bn = d["layers"][2]
    assert [(w["name"], w["trainable"], w["role"]) for w in bn["weights"]] == [
        ("gamma", True, "trainable"), ("beta", True, "trainable"),
        ("moving_mean", False, "non_trainable"), ("moving_variance", False, "non_trainable")]
    assert d["schema"] == 1 and d["layout"] == "channels_last"


def test_model_dict_partial_values_say_what_is_known():
    d = model_dict(analyze(MLP, symbolic=True, values={"h": 512}))
    assert d["symbols"] == {"n": None, "h": 512, "k": None}
    assert d["total"]["value"] is None
    n, k = symbol("n"), symbol("k")
    assert sympy.expand(read_formula(d["total"]["at_values"], d["symbols"])
                        - (512 * (n + 1) + 2048 + k * 513)) == 0
    assert d["non_trainable"] == {"formula": "2*h", "value": 1024}


def test_multiplier_in_data():
    s = analyze("model m(d = 4, L):\n    input [d]\n    repeat L:\n        dense d\n")
    layer = model_dict(s)["layers"][1]
    assert layer["multiplier"] == {"formula": "L", "value": None, "at_values": "L"}
    assert layer["path"] == ["repeat L"]
    L = symbol("L")
    assert read_formula(layer["params"]["at_values"], ["L"]) == 20 * L  # d(d + 1) = 20


def test_read_formula_keeps_sympy_names_as_symbols():
    N, E = symbol("N"), symbol("E")
    assert read_formula("E*(N + 1)", ["N", "E"]) == E * (N + 1)


# ---- text ----------------------------------------------------------------------------

def test_count_text_columns():
    full = count_text(analyze(MLP))
    assert "Symbols: n = 4096, h = 512, k = 80" in full
    assert full.splitlines()[3].split() == ["Formula", "Value"]
    symbolic = count_text(analyze(MLP, symbolic=True)).splitlines()
    assert symbolic[1] == "Symbols: no value: n, h, k"
    assert symbolic[3].split() == ["Formula"]


def test_text_has_no_trailing_spaces_and_is_stable():
    s = analyze(MLP)
    for text in (count_text(s), summary_text(s)):
        assert all(line == line.rstrip() for line in text.splitlines())
    assert summary_text(s) == summary_text(analyze(MLP))


def test_summary_rules_span_the_table():
    lines = summary_text(analyze(MLP)).splitlines()
    width = max(len(line) for line in lines[3:9])
    assert lines[2] == "_" * width and lines[4] == "=" * width


def test_unrolled_repeat_shows_each_copy():
    s = analyze("model m(d = 4):\n    input [d]\n    repeat 2 as i:\n        dense d + i\n")
    text = summary_text(s)
    assert " repeat[0]:\n   dense (Dense)" in text
    assert " repeat[1]:\n   dense_1 (Dense)" in text


# ---- derivations ---------------------------------------------------------------------

def test_templates_are_shipped_resources():
    names = {p.name for p in resource_dir("templates").iterdir()}
    assert {"derive.md.j2", "derive.tex.j2"} <= names


def test_unknown_format_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown format 'html'"):
        derivation(analyze(MLP), "html")


def test_derivation_lists_every_weight_once():
    s = analyze(MLP)
    md = derivation(s, "markdown")
    for layer in s.layers:
        for w in layer.weights:
            assert md.count(f"| `{w.name}` |") == sum(
                1 for other in s.layers for v in other.weights if v.name == w.name)
    assert "dropout" not in md  # layers without weights have nothing to derive


def test_derivation_latex_math_is_sympy_latex():
    s = analyze(MLP, symbolic=True)
    tex = derivation(s, "latex")
    assert sympy.latex(s.total) in tex
    assert r"\texttt{moving\_variance}" in tex


def test_derivation_names_multiletter_symbols_as_words():
    s = analyze("model m(rows = 28, classes = 10):\n    input [rows]\n    dense classes\n")
    tex = derivation(s, "latex")
    assert r"\mathit{classes} \left(\mathit{rows} + 1\right)" in tex


def test_tied_weight_is_listed_but_counted_once():
    """A Dense tied to an embedding (GPT-2's lm_head) holds no parameter of its own:
    Keras's count_params and PyTorch's parameters() see the shared tensor once."""
    s = analyze("model lm(V = 100, d = 8, T = 7):\n    input [T]\n"
                "    embedding V, d as wte\n    dense V, bias = false, tie = wte\n")
    text = summary_text(s)
    assert "Total params: 800" in text
    assert "0 (shares wte/embeddings)" in text
    tied = model_dict(s)["layers"][-1]["weights"][0]
    assert (tied["role"], tied["trainable"], tied["shared_with"]) == \
        ("shared", False, "wte/embeddings")
    md = derivation(s, "markdown")
    assert "| shared with wte/embeddings |" in md


def test_a_model_without_symbols_prints_numbers():
    s = analyze("model m():\n    input [4096]\n    dense 512\n    batchnorm\n")
    count = count_text(s).splitlines()
    assert count[1] == "Symbols: none" and count[3].split() == ["Value"]
    assert count[4].split() == ["Total", "params", "2,099,712"]  # 4096*512 + 512 + 4*512
    summary = summary_text(s)
    assert " dense (Dense)                              (None, 512)    2,097,664" in summary
    assert "Formulas:" not in summary


def test_connected_to_appears_only_when_the_model_branches():
    chain = summary_text(analyze(MLP))
    assert "Connected to" not in chain
    s = analyze("model r(d = 8):\n    input [d] as x\n    residual:\n        dense d\n"
                "        relu\n")
    lines = summary_text(s).splitlines()
    assert lines[3].split("   ")[-2:] == ["Connected to", "Formula"]
    add = next(line for line in lines if line.startswith(" add (Add)"))
    assert "re_lu, x" in add
