"""Derivations: their content (formula = numbers = result, shapes, roles, convention
differences, totals), symbols as papers print them, the formats, escaping, the
template sandbox and determinism.

The numbers are the seeds' and the frameworks' (Keras's BatchNormalization keeps
2 x 512 non-trainable moving statistics; PyTorch's LSTM has a second bias of 4u),
never values read off symparam itself.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from symparam import SymparamError, analyze, parse
from symparam.cli import main
from symparam.render.document import derivation, render_template
from symparam.render.symbols import symbol_latex

ROOT = Path(__file__).resolve().parents[1]
SEED000 = (ROOT / "docs" / "examples" / "seed000.symp").read_text()
LSTM = """model clf(T = 100, d = 32, u = 64):
    input [T, d]
    lstm u
    batchnorm
"""
CONV = """model cnn(H = 32, W = 30, C = 3):
    input [H, W, C]
    conv2d 16, 3, stride = 2, padding = same
    conv2d 8, [3, 5], padding = 1
    maxpool2d 2
    flatten
    dense 10
"""


def cli(*args: str, code: int = 0):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result


# ---- content ---------------------------------------------------------------------------

def test_dense_is_formula_then_numbers_then_result():
    """Seed 000's first Dense: h(n + 1) = 512(4096 + 1) = 2,097,664, unevaluated in the
    middle, as a textbook's worked example."""
    md = derivation(analyze(SEED000), "markdown", flavor="plain")
    assert ("P &= h n + h \\\\\n  &= h \\left(n + 1\\right) \\\\\n"
            "  &= 512 \\cdot \\left(4{,}096 + 1\\right) \\\\\n  &= 2{,}097{,}664") in md
    text = derivation(analyze(SEED000), "text")
    assert "  P = h*n + h\n    = h*(n + 1)\n    = 512*(4096 + 1)\n    = 2,097,664" in text


def test_batchnorm_roles_and_why_both_conventions():
    """Seed 000's question: 2,048 = 4 x 512, of which the moving statistics (2 x 512)
    are not trained; in PyTorch they are buffers, with num_batches_tracked."""
    text = derivation(analyze(SEED000), "text")
    assert "moving_mean, moving_variance: a running average of the batch statistics" in text
    assert "so Keras lists them as non-trainable parameters" in text
    assert "trainable 1,024, non-trainable 1,024" in text
    assert "In PyTorch (BatchNorm1d) this layer has 2*h fewer parameters and 2*h + 1 more " \
           "buffers." in text
    torch = derivation(analyze(SEED000, convention="torch"), "text")
    assert "so PyTorch keeps them as buffers, not parameters" in torch
    assert "In Keras (BatchNormalization) this layer has 2*h more parameters and " \
           "2*h + 1 fewer buffers." in torch


def test_lstm_convention_difference_is_the_second_bias():
    """PyTorch's LSTM: weight_ih, weight_hh, bias_ih and bias_hh, so 4u more than
    Keras's kernel, recurrent_kernel and one bias (torch.nn.LSTM's documentation)."""
    text = derivation(analyze(LSTM), "text")
    assert "In PyTorch (LSTM) this layer has 4*u more parameters." in text
    assert "bias_hh_l0: PyTorch adds a second bias vector b_hh" in text
    assert "P = 4*d*u + 4*u**2 + 4*u\n    = 4*u*(d + u + 1)\n    = 4*64*(32 + 64 + 1)" in text
    assert "= 24,832" in text  # 4 x 64 x 97: keras.layers.LSTM(64) on 32 features


def test_shapes_follow_from_the_conv_and_pool_formulas():
    text = derivation(analyze(CONV), "text")
    # same padding, stride 2: ceil(n/s), exact; its textbook form is stated, not silent.
    assert "each output size n_out = ceil(n/s) (stride s, padding 'same'):" in text
    assert "    H_out = ceil(H/2)\n          = 16" in text
    assert "assuming s divides n (the textbook assumption): H/2" in text
    # explicit padding, stride 1: no rounding, per axis (kernel 3 x 5).
    assert "n_out = n + 2p - k + 1 (kernel k, padding on each side p, stride 1)" in text
    assert "    H_out = ceil(H/2) + 2*1 - 3 + 1\n          = ceil(H/2)\n          = 16" in text
    assert "    W_out = ceil(W/2) + 2*1 - 5 + 1\n          = ceil(W/2) - 2\n          = 13" in text
    # pooling: floor((n - k)/s) + 1 with its floor.
    assert "floor((ceil(W/2) - 2 - 2)/2) + 1" in text and "= 6" in text
    assert "flattening multiplies the axes together" in text


def test_totals_closed_form_and_numbers():
    text = derivation(analyze(SEED000), "text")
    assert ("Total params = h*(n + 1) + 4*h + k*(h + 1)\n"
            "               = 2,097,664 + 2,048 + 41,040\n"
            "               = 2,140,752") in text
    # A sum that factors into a shorter product is factored: 2d(d + 1), not two terms.
    s = analyze("model m(d = 8):\n    input [d]\n    dense d\n    dense d\n")
    assert "Total params = 2*d*(d + 1)\n" in derivation(s, "text")


def test_symbolic_repeat_stays_one_layer_with_a_multiplier():
    s = analyze("model m(d = 8, L):\n    input [d]\n    repeat L:\n        dense d\n")
    text = derivation(s, "text")
    assert "it stands L times" in text
    assert "P = L*(d**2 + d)\n    = L*d*(d + 1)\n    = L*8*(8 + 1)" in text


def test_no_weights_says_so():
    s = analyze("model m(n = 4):\n    input [n]\n    relu\n")
    assert "No layer of this model has weights." in derivation(s, "markdown")


# ---- symbols ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, tex", [
    ("d_model", r"d_{\mathrm{model}}"), ("alpha", r"\alpha"), ("Gamma", r"\Gamma"),
    ("lambda", r"\lambda"), ("sigma_2", r"\sigma_{2}"), ("k_h", "k_{h}"),
    ("n_heads", r"n_{\mathrm{heads}}"), ("classes", r"\mathit{classes}"),
    ("h1", "h_{1}"), ("rows2_in", r"\mathit{rows}_{2,\mathrm{in}}"), ("x_alpha", r"x_{\alpha}"),
    ("k_h_out", r"k_{h,\mathrm{out}}"),
])
def test_symbol_latex(name, tex):
    assert symbol_latex(name) == tex


def test_a_file_sets_a_symbols_latex():
    src = ('model gpt(d_model = 768 "D_{\\text{emb}}", n_ctx = 1024, nu "\\nu_0"):\n'
           '    input [n_ctx, d_model]\n    dense nu\n')
    s = analyze(src, values={"nu": 3})
    assert s.latex == {"d_model": r"D_{\text{emb}}", "nu": r"\nu_0"}
    tex = derivation(s, "latex")
    assert r"$D_{\text{emb}} = 768$" in tex and r"$\nu_0 = 3$" in tex
    assert r"n_{\mathrm{ctx}}" in tex  # the others as the rules say
    assert r"\nu_0 \left(D_{\text{emb}} + 1\right)" in tex
    # The string is LaTeX as written: \n and \t are not escapes there.
    assert parse(src).models["gpt"].params[2].latex == r"\nu_0"


def test_long_sums_break_over_rows():
    terms = " + ".join(f"a{i}*b{i}" for i in range(12))
    s = analyze("model m(" + ", ".join(f"a{i}, b{i}" for i in range(12)) + "):\n"
                "    input [" + terms.replace("*", " * ") + "]\n    dense 1\n")
    tex = derivation(s, "latex")
    rows = [line for line in tex.splitlines() if line.lstrip().startswith(r"&\quad")]
    assert rows, "a long sum stays on one row"


# ---- formats ---------------------------------------------------------------------------

def test_markdown_flavors():
    s = analyze(SEED000)
    github = derivation(s, "markdown", flavor="github")
    plain = derivation(s, "markdown", flavor="plain")
    assert "```math\n\\begin{aligned}\nP &= h n + h" in github
    assert "$`h = 512`$" in github and "$$" not in github
    assert "$$\n\\begin{aligned}\nP &= h n + h" in plain
    assert "$h = 512$" in plain and "```math" not in plain


def test_latex_snippet_and_standalone():
    s = analyze(SEED000)
    snippet = derivation(s, "latex")
    assert "\\documentclass" not in snippet and "\\begin{align*}" in snippet
    assert snippet.startswith("% Parameters of the model mlp")
    standalone = derivation(s, "latex", standalone=True)
    assert standalone.startswith("\\documentclass{article}")
    assert standalone.rstrip().endswith("\\end{document}")
    assert "\\paragraph{\\texttt{batch\\_normalization}" in snippet
    assert "\\subsection*{\\texttt{batch\\_normalization}" in standalone


def test_cli_options(tmp_path):
    out = cli("derive", "--example", "seed000", "-f", "text").stdout
    assert out.startswith("Parameters of mlp\n")
    cli("derive", "--example", "seed000", "-f", "markdown", "--standalone", code=2)
    err = cli("derive", "--example", "seed000", "-f", "latex", "--flavor", "plain",
              code=2).stderr
    assert "--flavor is Markdown's" in err
    err = cli("derive", "--example", "seed000", "--template", str(tmp_path / "t.j2"),
              "-f", "latex", code=2).stderr
    assert "--template renders your template" in err
    target = tmp_path / "d.txt"
    cli("derive", "--example", "seed002", "-o", str(target))
    assert target.read_text().startswith("Parameters of sequential\n")


def test_jupyter_reprs():
    s = analyze(SEED000)
    assert s._repr_markdown_() == derivation(s, "markdown", flavor="plain")
    latex = s._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and "2{,}140{,}752" in latex
    html = s._repr_html_()
    assert html.startswith('<div class="symparam">') and "<code>batch_normalization</code>" in html
    assert "2{,}140{,}752" in html


# ---- escaping --------------------------------------------------------------------------

SPECIAL = "conv_1%#&~^\\{}$50"


def _renamed(stats, name: str):
    """The analysis with every layer named ``name`` + its index: the language allows
    only letters, digits and _ in names, but templates must escape whatever comes."""
    layers = tuple(dataclasses.replace(layer, name=f"{name}{i}", path=(f"{name} path",))
                   for i, layer in enumerate(stats.layers))
    return dataclasses.replace(stats, name=name, layers=layers)


def test_latex_escapes_every_special_character_in_prose():
    s = _renamed(analyze(SEED000), SPECIAL)
    tex = derivation(s, "latex", standalone=True)
    escaped = r"conv\_1\%\#\&\textasciitilde{}\textasciicircum{}\textbackslash{}\{\}\$50"
    assert f"\\texttt{{{escaped}1}}" in tex
    assert SPECIAL not in tex
    # math is never escaped
    assert r"h \left(n + 1\right)" in tex


@pytest.mark.skipif(shutil.which("pdflatex") is None and not os.environ.get("CI"),
                    reason="pdflatex not installed")
def test_escaped_names_compile(tmp_path):
    tex = derivation(_renamed(analyze(SEED000), SPECIAL), "latex", standalone=True)
    (tmp_path / "d.tex").write_text(tex)
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]


def test_markdown_keeps_names_in_code_spans():
    md = derivation(_renamed(analyze(SEED000), "a`b_c*d"), "markdown")
    assert "## ``a`b_c*d1`` (Dense, line " in md


# ---- user templates: sandboxed, strict --------------------------------------------------

def _template(tmp_path, text: str, name: str = "t.md.j2") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_user_template_renders_the_context(tmp_path):
    t = _template(tmp_path, "{% for f in model.layers %}{{ f.name }}: {{ f.params | formula }}"
                            " = {{ f.value | num }}\n{% endfor %}"
                            "$${{ math.inline(math.total_chain(model.totals[0])) }}$$\n")
    out = render_template(analyze(SEED000), t)
    assert out.startswith("dense: h*(n + 1) = 2,097,664\nbatch_normalization: 4*h = 2,048\n")
    assert "= 2{,}140{,}752$$" in out


def test_latex_user_template_uses_latex_delimiters(tmp_path):
    t = _template(tmp_path, r"\VAR{model.name | tex}: $\VAR{model.totals[0].closed | latex}$",
                  "t.tex.j2")
    assert render_template(analyze(SEED000), t) == \
        r"mlp: $h \left(n + 1\right) + 4 h + k \left(h + 1\right)$"


@pytest.mark.parametrize("body, message", [
    ("{{ ''.__class__.__mro__ }}", "refused"),
    ("{{ stats.__init__.__globals__ }}", "refused"),
    ("{{ model.layers[0].params.subs('h', \"__import__('os').getcwd()\") }}", "refused"),
    ("{{ stats.at(\"__import__('os').getcwd()\") }}", "refused"),
    ("{{ math(\"__import__('os').getcwd()\") }}", "refused"),
    ("{{ \"__import__('os').getcwd()\" | latex }}", "refused"),
    ("{{ stats.values.clear() }}", "refused"),
    ("{{ stats.document.source }}", "refused"),
])
def test_sandbox_refuses_python_internals(tmp_path, body, message):
    t = _template(tmp_path, body)
    with pytest.raises(SymparamError, match=message):
        render_template(analyze(SEED000), t)


def test_undefined_variable_is_an_error_naming_it(tmp_path):
    t = _template(tmp_path, "line one\n{{ model.nmae }}\n")
    with pytest.raises(SymparamError, match=r"line 2: .*'nmae'"):
        render_template(analyze(SEED000), t)
    with pytest.raises(SymparamError, match="'totl' is undefined"):
        render_template(analyze(SEED000), _template(tmp_path, "{{ totl }}"))


def test_template_errors_on_the_command_line(tmp_path):
    bad = _template(tmp_path, "{{ ''.__class__ }}")
    err = cli("derive", "--example", "seed000", "--template", str(bad), code=2).stderr
    assert err.startswith("error: template ") and "refused" in err
    err = cli("derive", "--example", "seed000", "--template", str(tmp_path / "none.j2"),
              code=2).stderr
    assert "no such template" in err
    syntax = _template(tmp_path, "{% for %}")
    assert "line 1" in cli("derive", "--example", "seed000", "--template", str(syntax),
                           code=2).stderr


# ---- determinism -----------------------------------------------------------------------

def test_byte_identical_across_processes(tmp_path):
    outs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "symparam", "derive", "--zoo", "resnet18",
                               "-f", "latex", "--standalone"], capture_output=True,
                              text=True, env=env, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        outs.append(done.stdout)
    assert outs[0] == outs[1] and len(outs[0]) > 5000  # by block: about 9,400
    s = analyze(CONV)
    assert all(derivation(s, f) == derivation(analyze(CONV), f)
               for f in ("latex", "markdown", "text"))


# ---- docs/derivations.md and golden files ------------------------------------------------

DOC = (ROOT / "docs" / "derivations.md").read_text(encoding="utf-8")


def test_derivations_md_template_example(tmp_path):
    template = re.search(r"```jinja\n(.*?)```", DOC, re.S).group(1)
    shown = re.search(r"```markdown\n(.*?)```", DOC, re.S).group(1)
    path = _template(tmp_path, template, "report.md.j2")
    out = cli("derive", "--example", "seed000", "--template", str(path)).stdout
    assert out == shown


def test_derivations_md_console_example():
    block = re.search(r"```console\n\$ symparam (.*?)\n(.*?)```", DOC, re.S)
    out = cli(*block.group(1).split()).stdout
    assert out == block.group(2)


def test_derivations_md_documents_the_whole_context():
    from symparam.render.document import context
    from symparam.render.facts import LayerFacts, ModelFacts
    for name in context(analyze(SEED000)):
        assert f"`{name}`" in DOC, name
    for cls in (ModelFacts, LayerFacts):
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in DOC, (cls.__name__, field.name)


GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("SYMPARAM_REGEN_GOLDEN", "") not in ("", "0")
# Each format on the seeds (test_cli.py holds seed000.md, seed000.tex, seed001.md,
# seed001.tex, seed002.md and seed004-wide.tex).
GOLDEN_DERIVE = {
    "seed000.plain.md": ("--example", "seed000", "-f", "markdown", "--flavor", "plain"),
    "seed000.txt": ("--example", "seed000", "-f", "text"),
    "seed000.torch.md": ("--example", "seed000", "-f", "markdown", "--convention", "torch"),
    "seed000.snippet.tex": ("--example", "seed000", "-f", "latex"),
    "seed001.txt": ("--example", "seed001", "-f", "text"),
    "seed001.plain.md": ("--example", "seed001", "-f", "markdown", "--flavor", "plain"),
    "seed002.tex": ("--example", "seed002", "-f", "latex", "--standalone"),
    "seed002.txt": ("--example", "seed002", "-f", "text"),
    "seed004-convs.md": ("--example", "seed004", "-m", "convs", "-f", "markdown"),
    "seed004-convs.tex": ("--example", "seed004", "-m", "convs", "-f", "latex",
                          "--standalone"),
    "seed004-mnist.txt": ("--example", "seed004", "-m", "mnist", "-f", "text"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_DERIVE))
def test_golden_derivations(name):
    text = cli("derive", *GOLDEN_DERIVE[name]).stdout
    path = GOLDEN / name
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with SYMPARAM_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, regenerate with SYMPARAM_REGEN_GOLDEN=1 and review "
        f"the diff")


def test_a_bar_in_a_symbol_does_not_split_a_markdown_table():
    s = analyze('model lm(V = 100 "|V|", d = 8):\n    input [d]\n    dense V\n')
    md = derivation(s, "markdown")
    row = next(line for line in md.splitlines() if line.startswith("| `kernel`"))
    assert row.count("|") == 5  # the cell separators only
    assert r"\vert V\vert" in row


def test_rule_keeps_a_sum_in_brackets_where_it_is_divided():
    """`same` pooling after a strided convolution: the input size ceil(H/2) - 1 is
    divided by the stride as a whole, ceil((ceil(H/2) - 1)/2), never ceil(H/2) - 1/2."""
    import sympy

    from symparam.render.printers import TextMath
    from symparam.render.shapes import shape_rule

    stats = analyze("model m(H = 32):\n    input [H, H, 3]\n    conv2d 8, 3, stride = 2\n"
                             "    maxpool2d 3, stride = 2, padding = same\n")
    rule = shape_rule(stats.layers[2], stats.layout)
    text = rule.filled(TextMath(stats), rule.axes[0], tex=False)
    assert text == "ceil((ceil(H/2) - 1)/2)"
    H = sympy.Symbol("H", integer=True, positive=True)
    for h in range(3, 60):  # the rule as printed is the size the analyzer computed
        printed = sympy.sympify(text.replace("ceil", "ceiling"), locals={"H": H})
        assert printed.subs(H, h) == rule.axes[0].out.subs(H, h)


def test_textbook_size_is_right_wherever_its_assumption_holds():
    """Found in review: for a second strided layer the printed "assuming s divides
    n - k" size was (H - 2)/4, which is 2.75 at H = 13 where the true size is 3. The
    printed size must equal the true size at every H where its stated assumption
    (s divides this layer's n + 2p - k) holds."""
    import sympy

    from symparam.render.shapes import shape_rule

    stats = analyze("convention torch\nmodel q(C = 3, H = 13):\n    input [C, H, H]\n"
                    "    conv2d 8, 3, stride = 2, padding = 1\n    conv2d 8, 3, stride = 2\n",
                    symbolic=True)
    H = sympy.Symbol("H", integer=True, positive=True)
    checked = 0
    for layer in stats.layers[1:]:
        step = shape_rule(layer, stats.layout).axes[0]
        k, s, p = (step.args[key] for key in ("k", "s", "p"))
        for h in range(3, 80):
            n = step.size.subs(H, h)
            if (n + 2 * p - k) % s == 0:  # the assumption printed beside it holds
                assert step.exact.subs(H, h) == step.out.subs(H, h), (layer.name, h)
                checked += 1
    assert checked > 40
