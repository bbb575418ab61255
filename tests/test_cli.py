"""The command line end to end: `count`, `summary`, `derive`, `examples`, `--json`.

The numbers asserted are the seed documents' (../shared/seeds/), Keras's own
model.summary() and PyTorch's module counts, never values read off symparam itself.
Golden files (tests/golden/) pin the rendered text; regenerate them with
SYMPARAM_REGEN_GOLDEN=1 and review the diff.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from click.testing import CliRunner

from symparam.cli import main
from symparam.render import read_formula
from symparam.resources import resource_dir

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = resource_dir("examples")
GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("SYMPARAM_REGEN_GOLDEN", "") not in ("", "0")


def run(*args: str, ok: bool = True):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def rows(text: str) -> dict[str, list[str]]:
    """Summary rows by layer name: the cells, split where columns are."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s+(\S+) \((\w+)\)\s{3}(.*)$", line)
        if m:
            out[m.group(1)] = [m.group(2)] + re.split(r"\s{3,}", m.group(3).strip())
    return out


def totals(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if re.match(r"^(Total|Trainable|Non-trainable) params: |^Buffers: ", line)]


# ---- the seeds -----------------------------------------------------------------------

def test_count_seed000_numbers_and_formula():
    out = run("count", "--example", "seed000").stdout
    assert re.search(r"Total params\s+h\*\(n \+ 1\) \+ 4\*h \+ k\*\(h \+ 1\)\s+2,140,752$",
                     out, re.M)
    assert re.search(r"^ Trainable params .* 2,139,728$", out, re.M)
    assert re.search(r"^ Non-trainable params .* 1,024$", out, re.M)
    assert re.search(r"^ Buffers\s+0\s+0$", out, re.M)


def test_summary_seed000():
    out = run("summary", "--example", "seed000").stdout
    r = rows(out)
    assert r["dense"][:3] == ["Dense", "(None, 512)", "2,097,664"]
    assert r["batch_normalization"][:3] == ["BatchNormalization", "(None, 512)", "2,048"]
    assert r["dense_1"][:3] == ["Dense", "(None, 80)", "41,040"]
    assert totals(out) == ["Total params: 2,140,752", "Trainable params: 2,139,728",
                           "Non-trainable params: 1,024"]


def test_summary_seed001_shapes_and_counts():
    out = run("summary", str(EXAMPLES / "seed001.symp")).stdout
    r = rows(out)
    assert r["zero_padding2d"][1] == "(None, 70, 70, 3)"
    assert r["conv0"][1:3] == ["(None, 64, 64, 32)", "4,736"]
    assert r["bn0"][1:3] == ["(None, 64, 64, 32)", "128"]
    assert r["max_pool"][1] == "(None, 32, 32, 32)"
    assert r["flatten"][1] == "(None, 32768)"
    assert r["fc"][1:3] == ["(None, 1)", "32,769"]
    assert totals(out) == ["Total params: 37,633", "Trainable params: 37,569",
                           "Non-trainable params: 64"]


def test_summary_seed001_symbolic_keeps_the_floors():
    out = run("summary", "--example", "seed001", "--symbolic").stdout
    total = totals(out)[0].split(": ", 1)[1]
    H, W, C = (sympy.Symbol(s, integer=True, positive=True) for s in "HWC")
    expect = 32 * (49 * C + 1) + 4 * 32 + 32 * sympy.floor(H / 2) * sympy.floor(W / 2) + 1
    assert sympy.expand(read_formula(total, "HWC") - expect) == 0
    assert "floor(H/2)" in total


def test_seed002():
    r = rows(run("summary", "--example", "seed002").stdout)
    assert [r[n][2] for n in ("layer1", "layer2", "layer3")] == ["514", "9", "16"]
    assert "Total params           2*(n + 1) + 25   539" in run("count", "--example",
                                                                  "seed002").stdout


@pytest.mark.parametrize("model, expected", [
    ("mnist", {"dense": "7,850"}),
    ("wide", {"dense": "264,710", "dense_1": "132,355"}),
    ("convs", {"conv2d": "896", "conv2d_1": "18,496", "conv2d_2": "73,856",
               "dense": "1,290"}),
])
def test_seed004(model, expected):
    out = run("summary", "--example", "seed004", "--model", model).stdout
    r = rows(out)
    assert {name: r[name][2] for name in expected} == expected
    if model == "wide":
        assert totals(out)[0] == "Total params: 397,065"
    if model == "convs":
        assert r["dense"][1] == "(None, 218, 218, 10)"
    if model == "mnist":
        assert r["input_layer"][1] == "(None, 1, 28, 28)"


def test_model_from_standard_input():
    source = (EXAMPLES / "seed002.symp").read_text()
    result = CliRunner().invoke(main, ["summary", "-"], input=source)
    assert result.exit_code == 0 and totals(result.stdout)[0] == "Total params: 539"
    bad = CliRunner().invoke(main, ["count", "-"], input="model m(:\n")
    assert bad.exit_code == 2 and bad.stderr.startswith("error: <stdin>, line 1")


def test_example_by_model_name():
    assert run("count", "--example", "convs").stdout.startswith('Model: "convs"')


# ---- values, symbols, conventions ----------------------------------------------------

def test_set_overrides_defaults():
    # A Dense layer of u units on i inputs has u * (i + 1) parameters (seed 002).
    out = run("summary", "--example", "seed002", "--set", "n=100").stdout
    assert rows(out)["layer1"][2] == "202"
    assert totals(out)[0] == f"Total params: {202 + 9 + 16}"


def test_set_several_at_once_and_partial_values():
    a = run("count", "--example", "seed000", "--symbolic", "--set", "h=512,k=80").stdout
    b = run("count", "--example", "seed000", "--symbolic", "-s", "h=512", "-s", "k=80").stdout
    assert a == b
    assert "Symbols: h = 512, k = 80; no value: n" in a
    # h(n+1) + 4h + k(h+1) with h = 512, k = 80, the formula with n left in it:
    row = next(line for line in a.splitlines() if line.startswith(" Total params"))
    partial = re.split(r"\s{3,}", row.strip())[2]
    n = sympy.Symbol("n", integer=True, positive=True)
    assert sympy.expand(read_formula(partial, "n") - (512 * (n + 1) + 4 * 512 + 80 * 513)) == 0


def test_symbolic_ignores_defaults():
    out = run("summary", "--example", "seed000", "--symbolic").stdout
    assert "Symbols: no value: n, h, k" in out
    assert totals(out)[0] == "Total params: h*(n + 1) + 4*h + k*(h + 1)"
    assert "Formulas:" not in out  # the totals lines are the formulas already


def test_torch_convention_buffers(frameworks_or_none):
    out = run("summary", "--example", "seed000", "--convention", "torch").stdout
    assert totals(out) == ["Total params: 2,139,728", "Trainable params: 2,139,728",
                           "Non-trainable params: 0", "Buffers: 1,025"]
    torch = frameworks_or_none
    if torch is not None:  # PyTorch itself: BatchNorm1d(512) keeps 2 x 512 + 1 buffers
        bn = torch.nn.BatchNorm1d(512)
        assert sum(b.numel() for b in bn.buffers()) == 1025
        assert sum(p.numel() for p in bn.parameters()) == 1024


@pytest.fixture
def frameworks_or_none():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is installed where tests run
        return None
    return torch


def test_repeat_multiplier_matches_writing_the_layers_out(tmp_path):
    """A symbolic repeat shows its multiplier; with a value, its count equals the same
    layers written out by hand (an independent way to get the number)."""
    looped = tmp_path / "looped.symp"
    looped.write_text("model m(d = 8, L):\n    input [d]\n    repeat L:\n"
                      "        dense d\n        layernorm\n    dense 2\n")
    written = tmp_path / "written.symp"
    written.write_text("model m(d = 8):\n    input [d]\n"
                       + "    dense d\n    layernorm\n" * 3 + "    dense 2\n")
    sym = run("summary", str(looped)).stdout
    assert " repeat L:" in sym
    assert rows(sym)["dense"][3] == "d*(d + 1) × L"
    with_value = run("summary", str(looped), "--set", "L=3").stdout
    assert totals(with_value) == totals(run("summary", str(written)).stdout)
    assert rows(with_value)["dense"][2] == f"{3 * 8 * 9}"


def test_blocks_are_indented_under_their_instance(tmp_path):
    f = tmp_path / "b.symp"
    f.write_text("block mlp2(h):\n    dense h\n    dense h\n\n"
                 "model m(n = 4):\n    input [n]\n    mlp2 3 as head\n    dense 1\n")
    lines = run("summary", str(f)).stdout.splitlines()
    i = next(k for k, line in enumerate(lines) if line == " head:")
    assert lines[i + 1].startswith("   dense (Dense)")
    assert lines[i + 3].startswith(" dense_2 (Dense)")


# ---- JSON ----------------------------------------------------------------------------

SCHEMA_TOP = {"model", "convention", "symbols", "total", "trainable", "non_trainable",
              "buffers", "layers"}
SCHEMA_LAYER = {"name", "type", "output_shape", "params", "trainable", "non_trainable",
                "weights"}


def _all_counts(doc):
    for key in ("total", "trainable", "non_trainable", "buffers"):
        yield doc[key]
    for layer in doc["layers"]:
        for key in ("params", "trainable", "non_trainable"):
            yield layer[key]


def test_json_schema_seed001():
    doc = json.loads(run("count", "--example", "seed001", "--json").stdout)
    assert SCHEMA_TOP <= set(doc)
    assert doc["model"] == "myModel" and doc["convention"] == "keras"
    assert doc["symbols"] == {"H": 64, "W": 64, "C": 3}
    assert [doc[k]["value"] for k in ("total", "trainable", "non_trainable")] == \
        [37633, 37569, 64]
    by_name = {layer["name"]: layer for layer in doc["layers"]}
    for layer in doc["layers"]:
        assert SCHEMA_LAYER <= set(layer)
        assert layer["output_shape"][0] == "None"
    assert by_name["conv0"]["output_shape"] == ["None", "64", "64", "32"]
    assert by_name["flatten"]["output_shape"] == ["None", "32768"]
    assert by_name["bn0"]["non_trainable"]["value"] == 64
    weights = {w["name"]: w for w in by_name["bn0"]["weights"]}
    assert weights["moving_mean"] == {**weights["moving_mean"], "shape": ["32"],
                                      "trainable": False}
    assert by_name["conv0"]["weights"][0]["shape"] == ["7", "7", "3", "32"]
    assert by_name["conv0"]["weights"][0]["trainable"] is True


def test_json_symbolic_values_are_null():
    doc = json.loads(run("count", "--example", "seed000", "--symbolic", "--json").stdout)
    assert doc["symbols"] == {"n": None, "h": None, "k": None}
    assert all(c["value"] is None for c in _all_counts(doc) if c["formula"] != "0")
    assert doc["layers"][1]["output_shape"] == ["None", "h"]


@pytest.mark.parametrize("args", [
    ("--example", "seed000", "--symbolic"), ("--example", "seed001", "--symbolic"),
    ("--example", "seed004", "-m", "convs", "--symbolic"),
    ("--example", "seed000", "--convention", "torch"),
])
def test_json_formulas_read_back(args):
    """Every formula is str() of a sympy expression that sympify reads back equal
    to the analysis (the API gives the expressions themselves)."""
    from symparam import analyze
    doc = json.loads(run("count", *args, "--json").stdout)
    opts = dict(zip(args[::2], args[1::2]))
    stats = analyze(EXAMPLES / f"{opts['--example']}.symp", model=opts.get("-m"),
                    convention=opts.get("--convention"), symbolic="--symbolic" in args)
    names = doc["symbols"]
    for key, expr in (("total", stats.total), ("trainable", stats.trainable),
                      ("non_trainable", stats.non_trainable), ("buffers", stats.buffers)):
        assert sympy.expand(read_formula(doc[key]["formula"], names) - expr) == 0
        # plain sympify reads it too (these symbol names are not sympy's functions)
        assert sympy.sympify(doc[key]["formula"]).free_symbols or not expr.free_symbols
    for layer, ls in zip(doc["layers"], stats.layers):
        assert layer["name"] == ls.name
        assert sympy.expand(read_formula(layer["params"]["formula"], names) - ls.params) == 0
        assert [read_formula(d, names) for d in layer["output_shape_formula"][1:]] == \
            list(ls.output_shape)


def test_json_names_that_are_sympy_functions_read_back(tmp_path):
    f = tmp_path / "n.symp"
    f.write_text("model m(N, E, S):\n    input [N]\n    dense E\n    dense S\n")
    doc = json.loads(run("count", str(f), "--json").stdout)
    N, E, S = (sympy.Symbol(s, integer=True, positive=True) for s in "NES")
    assert sympy.expand(read_formula(doc["total"]["formula"], doc["symbols"])
                        - (E * (N + 1) + S * (E + 1))) == 0


def test_summary_json_is_the_same_document():
    a = json.loads(run("count", "--example", "seed001", "--json").stdout)
    b = json.loads(run("summary", "--example", "seed001", "--json").stdout)
    assert (a.pop("command"), b.pop("command")) == ("count", "summary")
    assert a == b


# ---- derive --------------------------------------------------------------------------

def test_derive_markdown_seed000():
    out = run("derive", "--example", "seed000", "--format", "markdown").stdout
    assert "## `batch_normalization` (BatchNormalization, line 7)" in out
    assert "P &= h n + h \\\\\n  &= h \\left(n + 1\\right) \\\\\n" in out
    assert "| `moving_mean` | $`h`$ | non-trainable | $`h`$ |" in out
    assert "  &= 2{,}140{,}752\n\\end{aligned}\n```" in out


def test_derive_latex_escapes_prose_not_math(tmp_path):
    out_file = tmp_path / "d.tex"
    result = run("derive", "--example", "seed000", "--standalone", "-o", str(out_file))
    assert f"wrote {out_file} (latex)" in result.stderr
    tex = out_file.read_text()
    assert r"\subsection*{\texttt{batch\_normalization} (BatchNormalization, line 7)}" in tex
    assert r"\texttt{moving\_mean}" in tex
    assert r"&= h \left(n + 1\right)" in tex
    assert "batch_normalization" not in tex  # never unescaped in prose
    _check_latex(tex)


def _check_latex(tex: str) -> None:
    """Structure a LaTeX compiler would reject: unbalanced braces or environments."""
    body = re.sub(r"\\[{}%$&#_]", "", tex)
    assert body.count("{") == body.count("}")
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{(\w+\*?)\}", tex):
        if kind == "begin":
            stack.append(env)
        else:
            assert stack and stack.pop() == env, f"\\end{{{env}}} without its \\begin"
    assert stack == []
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    assert "\\VAR{" not in tex and "\\BLOCK{" not in tex


TRICKY = """block res_block(f):
    residual:
        conv2d f, 3, padding = same as conv_a
        batchnorm
    relu

model my_model(H = 32, W = 32, d_model = 16, L, classes2 = 10):
    input [H, W, d_model]
    res_block d_model as stage_1
    repeat L:
        res_block d_model
    global_avgpool2d
    dense classes2
"""


@pytest.mark.skipif(not __import__("shutil").which("pdflatex"), reason="pdflatex not installed")
@pytest.mark.parametrize("args", [
    ("--example", "seed001"), ("--example", "seed000", "--convention", "torch"),
    ("TRICKY",), ("TRICKY", "--set", "L=3"),
])
def test_derive_latex_compiles(tmp_path, args):
    if args[0] == "TRICKY":
        (tmp_path / "tricky.symp").write_text(TRICKY)
        args = (str(tmp_path / "tricky.symp"),) + args[1:]
    tex = tmp_path / "d.tex"
    run("derive", *args, "--standalone", "-o", str(tex))
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / "d.pdf").stat().st_size > 1000


def test_derive_format_follows_the_suffix(tmp_path):
    md = tmp_path / "d.md"
    run("derive", "--example", "seed002", "-o", str(md))
    assert md.read_text().startswith("# Parameters of `sequential`")
    assert run("derive", "--example", "seed002").stdout == md.read_text()


# ---- errors: one message, exit code 2, never a traceback -----------------------------

def _error(*args: str, contains: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert contains in result.stderr, result.stderr
    assert "Traceback" not in result.output
    return result.stderr


@pytest.mark.parametrize("setting, message", [
    ("n", "--set 'n': write SYMBOL=VALUE"),
    ("n=abc", "--set n: 'abc' is not a positive whole number (examples: 4096"),
    ("n=-3", "--set n: '-3' is not a positive whole number"),
    ("n=0", "n must be a positive whole number"),
    ("n=2.5", "--set n: '2.5' is not a positive whole number"),
    ("n=10**1001", "--set n: '10**1001' has more than 1,000 digits (MAX_DIGITS)"),
    ("q=3", "model mlp has no symbol 'q'"),
    ("hh=3", "(did you mean 'h'?)"),
    ("n=3,n=4", "--set gives n twice"),
])
def test_bad_set(setting, message):
    err = _error("count", "--example", "seed000", "--set", setting, contains=message)
    assert err.startswith("error: ")


def test_missing_file_and_directory(tmp_path):
    _error("count", str(tmp_path / "missing.symp"), contains="error: no such file: ")
    _error("summary", str(tmp_path), contains="is a directory")


def test_source_errors_show_line_and_caret(tmp_path):
    f = tmp_path / "bad.symp"
    f.write_text("model m(n = 4):\n    input [n]\n    conv2 3\n")
    err = _error("summary", str(f), contains="line 3, column 5: unknown layer 'conv2'")
    assert "    conv2 3\n" in err and "\n        ^" in err


def test_model_and_source_choice_errors():
    _error("count", contains="name one model source")
    _error("count", str(EXAMPLES / "seed000.symp"), "--example", "seed000",
           contains="(not several)")
    _error("count", "--example", "seed004", contains="choose one with --model")
    _error("count", "--example", "seed004", "-m", "wid", contains="did you mean 'wide'?")
    _error("count", "--example", "seed01", contains="did you mean 'seed001'?")
    _error("derive", "--example", "seed000", "--format", "html", contains="Invalid value")


def test_derive_cannot_write(tmp_path):
    _error("derive", "--example", "seed000", "-o", str(tmp_path / "no" / "d.md"),
           contains="error: cannot write")


# ---- examples, python -m, determinism, golden files ----------------------------------

def test_examples_lists_examples_and_zoo():
    out = run("examples").stdout
    assert out.startswith("Examples (symparam count --example NAME):")
    assert re.search(r"^  seed004\s+mnist, wide, convs\s+Seed 004", out, re.M)
    assert "\nZoo (symparam count --zoo NAME):\n" in out


def test_zoo_option_reads_the_shipped_zoo():
    from symparam.commands.basic import shipped
    zoo = shipped("zoo")
    if not zoo:
        _error("count", "--zoo", "vgg16", contains="nothing is shipped in the zoo yet")
        return
    name = next(iter(zoo))  # a file's models: one, or one named as the file
    out = run("count", "--zoo", name).stdout
    assert out.startswith('Model: "') and "Total params" in out
    assert re.search(rf"^  {name}\s", run("examples").stdout, re.M)
    _error("count", "--zoo", name + "x", contains=f"(did you mean '{name}'?)")


def _subprocess(*args: str, seed: str = "0", cwd=None):
    env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "symparam", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_python_m_symparam(tmp_path):
    done = _subprocess("count", "--example", "seed000", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2,140,752" in done.stdout and done.stderr == ""
    bad = _subprocess("count", "missing.symp", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr == "error: no such file: missing.symp\n" and bad.stdout == ""


def test_output_is_deterministic_across_processes():
    """Two runs, with different hash seeds, print the same bytes."""
    args = ("summary", "--example", "seed001", "--symbolic")
    a, b = _subprocess(*args, seed="1"), _subprocess(*args, seed="2")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout != ""


GOLDEN_CASES = {
    "seed000.summary.txt": ("summary", "--example", "seed000"),
    "seed000.count.txt": ("count", "--example", "seed000"),
    "seed000.torch.summary.txt": ("summary", "--example", "seed000", "--convention", "torch"),
    "seed000.md": ("derive", "--example", "seed000", "--format", "markdown"),
    "seed000.tex": ("derive", "--example", "seed000", "--format", "latex", "--standalone"),
    "seed001.summary.txt": ("summary", "--example", "seed001"),
    "seed001.symbolic.summary.txt": ("summary", "--example", "seed001", "--symbolic"),
    "seed001.md": ("derive", "--example", "seed001", "--format", "markdown"),
    "seed001.tex": ("derive", "--example", "seed001", "--format", "latex", "--standalone"),
    "seed001.json": ("count", "--example", "seed001", "--json"),
    "seed002.summary.txt": ("summary", "--example", "seed002"),
    "seed002.md": ("derive", "--example", "seed002", "--format", "markdown"),
    "seed004-convs.summary.txt": ("summary", "--example", "seed004", "-m", "convs"),
    "seed004-mnist.summary.txt": ("summary", "--example", "seed004", "-m", "mnist"),
    "seed004-wide.tex": ("derive", "--example", "seed004", "-m", "wide", "-f", "latex",
                         "--standalone"),
}


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_golden(name):
    text = run(*GOLDEN_CASES[name]).stdout
    path = GOLDEN / name
    if REGEN:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}: run with SYMPARAM_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, regenerate with SYMPARAM_REGEN_GOLDEN=1 "
        f"and review the diff")
    assert run(*GOLDEN_CASES[name]).stdout == text  # two runs, the same bytes
    if name.endswith(".tex"):
        _check_latex(text)


# ---- against Keras's own model.summary() ---------------------------------------------

@pytest.mark.oracle
def test_summary_matches_keras_summary(frameworks):
    """Seed 001 built in Keras: every row Keras prints (name, type, shape, Param #)
    is ours, and our totals lines are Keras's without the size in bytes."""
    keras = frameworks["keras"]
    L = keras.layers
    model = keras.Sequential([
        keras.Input((64, 64, 3)), L.ZeroPadding2D((3, 3)),
        L.Conv2D(32, (7, 7), strides=(1, 1), name="conv0"),
        L.BatchNormalization(axis=3, name="bn0"), L.Activation("relu"),
        L.MaxPooling2D((2, 2), name="max_pool"), L.Flatten(),
        L.Dense(1, activation="sigmoid", name="fc")], name="myModel")
    lines: list[str] = []
    model.summary(print_fn=lambda s, **kw: lines.append(s))
    text = "\n".join(lines)
    keras_rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        m = re.match(r"^(\S+) \((\w+)\)$", cells[0])
        if len(cells) == 3 and m:
            keras_rows[m.group(1)] = [m.group(2), cells[1], cells[2]]
    ours = rows(run("summary", "--example", "seed001").stdout)
    assert len(keras_rows) == 7
    for name, cells in keras_rows.items():
        assert ours[name][:3] == cells, name
    keras_totals = [re.sub(r" \(.*\)$", "", line.strip()) for line in text.splitlines()
                    if "params:" in line]
    assert totals(run("summary", "--example", "seed001").stdout) == keras_totals


# ---- docs/cli.md: every pasted output is what the command prints today ----------------

CLI_MD = ROOT / "docs" / "cli.md"


def _doc_files(text: str) -> dict[str, str]:
    """The model files docs/cli.md shows, as blocks starting with `# file: NAME`."""
    files = {}
    for block in re.findall(r"```(?:symparam|text)\n(.*?)```", text, re.S):
        m = re.match(r"# file: (\S+)\n", block)
        if m:
            files[m.group(1)] = block[m.end():]
    return files


def _doc_sessions():
    text = CLI_MD.read_text(encoding="utf-8")
    for block in re.findall(r"```console\n(.*?)```", text, re.S):
        command, _, output = block.partition("\n")
        assert command.startswith("$ symparam "), command
        yield pytest.param(command[len("$ symparam "):], output, id=command[2:60])


@pytest.mark.parametrize("command, output", list(_doc_sessions()))
def test_cli_md_outputs_are_real(command, output, tmp_path, monkeypatch):
    import shlex
    for name, source in _doc_files(CLI_MD.read_text(encoding="utf-8")).items():
        (tmp_path / name).write_text(source, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, shlex.split(command))
    assert result.output.rstrip("\n") == output.rstrip("\n"), (
        "docs/cli.md is out of date for `symparam " + command + "`")


def test_cli_md_documents_every_command_and_option(monkeypatch):
    import doctest
    text = CLI_MD.read_text(encoding="utf-8")
    for name in ("count", "summary", "derive", "examples"):  # this module's commands
        command = main.commands[name]
        assert f"symparam {name}" in text, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("-"):
                    assert f"`{opt}" in text or f"{opt} " in text, (name, opt)
    monkeypatch.chdir(ROOT)
    result = doctest.testfile(str(CLI_MD), module_relative=False)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.oracle
def test_torch_summary_matches_pytorch_modules(frameworks):
    """Seed 000 counted as PyTorch does: each row's parameters and buffers are what
    the same nn.Module reports."""
    nn = frameworks["torch"].nn
    modules = {"dense": nn.Linear(4096, 512), "batch_normalization": nn.BatchNorm1d(512),
               "dense_1": nn.Linear(512, 80)}
    out = run("summary", "--example", "seed000", "--convention", "torch").stdout
    r = rows(out)
    for name, module in modules.items():
        params = sum(p.numel() for p in module.parameters())
        buffers = sum(b.numel() for b in module.buffers())
        assert r[name][0] == type(module).__name__
        assert r[name][2:4] == [f"{params:,}", f"{buffers:,}"], name
    total = sum(p.numel() for m in modules.values() for p in m.parameters())
    assert totals(out)[0] == f"Total params: {total:,}"
